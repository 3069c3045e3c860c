"""The scrolling conversation: one block per message, and a `LiveReply` at the end while a
reply streams.

Messages are focusable (click, or Shift+Tab from the input), and a focused one is ringed. Its keys
are never printable ones (a letter typed there goes to the message box): Enter opens its actions,
Delete deletes it (after asking), ←/→ swipe through its alternatives.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group
from rich.text import Text
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Static

from app.text import safe_line, safe_text
from app.tui.chat_events import Shown
from app.tui.widgets.live_reply import LiveReply, styled_reply
from app.tui.widgets.steady import steady_virtual_size


class ChatMessage(Static, can_focus=True):
    """One turn of the conversation."""

    virtual_size = steady_virtual_size()

    BINDINGS = [
        Binding("enter", "actions", "Actions", tooltip="Edit, delete, branch from this message"),
        Binding("delete", "delete", "Delete", tooltip="Delete this message and what follows"),
        Binding("left", "swipe(-1)", "◀ Swipe", show=False),
        Binding("right", "swipe(1)", "Swipe ▶", show=False),
    ]

    class Action(Message):
        """The user asked for `action` on this message (handled by the app)."""

        def __init__(self, block: ChatMessage, action: str, step: int = 0) -> None:
            super().__init__()
            self.block = block
            self.action = action
            self.step = step

    def __init__(self, shown: Shown) -> None:
        super().__init__(classes="mine" if shown.mine else "theirs")
        self.shown = shown
        self.update(self._content())

    @property
    def text(self) -> str:
        return self.shown.text

    def _content(self) -> Group:
        head = Text(safe_line(self.shown.speaker), style="bold")
        if self.shown.swipe is not None and self.shown.swipe[1] > 1:
            n, of = self.shown.swipe
            head.append(f"  ◀ {n}/{of} ▶", style="dim")
        if not self.shown.text:
            return Group(head, Text("…", style="dim"))
        if self.shown.note:  # a structured reply: emotion, action, changes
            note = Text(safe_line(f"[{self.shown.note}]"), style="dim italic")
            return Group(head, styled_reply(safe_text(self.shown.text)), note)
        return Group(head, styled_reply(safe_text(self.shown.text)))

    def action_actions(self) -> None:
        self.post_message(self.Action(self, "actions"))

    def action_delete(self) -> None:
        self.post_message(self.Action(self, "delete"))

    def action_swipe(self, step: int) -> None:
        self.post_message(self.Action(self, "swipe", step))


class ChatLog(VerticalScroll, can_focus=False):
    class Older(Message):
        """Scrolled to the top: the app may page in older messages."""

    def on_mount(self) -> None:
        self.anchor()

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if new <= 0 < old:
            self.post_message(self.Older())

    @property
    def blocks(self) -> list[ChatMessage]:
        return list(self.query_children(ChatMessage))

    def show(self, wanted: Sequence[Shown]) -> None:
        """Make the log show `wanted`, redrawing only from the first block that differs."""
        blocks = self.blocks
        older = len(wanted) - len(blocks)
        if blocks and older > 0 and [b.shown for b in blocks] == list(wanted[older:]):
            self.mount_all([ChatMessage(shown) for shown in wanted[:older]], before=blocks[0])
            self.call_after_refresh(self.scroll_to_widget, blocks[0], top=True, animate=False)
            return  # older messages paged in above: the rest stays where the reader was
        keep = 0
        while keep < min(len(blocks), len(wanted)) and blocks[keep].shown == wanted[keep]:
            keep += 1
        for block in [*blocks[keep:], *self.query_children(LiveReply)]:
            block.remove()
        if wanted[keep:]:
            self.mount_all([ChatMessage(shown) for shown in wanted[keep:]])

    def add(self, shown: Shown) -> ChatMessage:
        block = ChatMessage(shown)
        self.mount(block)
        return block

    def add_live(self, speaker: str, text: str) -> LiveReply:
        """A block for a reply streaming in; `show` replaces it with the stored reply."""
        block = LiveReply(speaker, text)
        self.mount(block)
        return block

    def index_of(self, block: ChatMessage) -> int:
        return self.blocks.index(block)
