"""The scrolling conversation: one block per message, the last one growing as a reply streams.

Messages are focusable: with one selected (click, or Shift+Tab from the input), its own keys
edit, delete, branch from it or swipe through its alternatives.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.console import Group
from rich.markdown import Markdown
from rich.text import Text
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Static

from app.tui.widgets.steady import steady_virtual_size

GROWTH_LINES = 4
"""Spare lines below a streaming reply: one layout per that many new lines, not per line."""

_SPEECH = re.compile(r"(\"[^\"\n]*\"|“[^”\n]*”)")


@dataclass(frozen=True)
class Shown:
    """What one block shows: enough to tell whether it must be redrawn."""

    message_id: int | None
    speaker: str
    text: str
    mine: bool
    swipe: tuple[int, int] | None = None


def styled(text: str) -> Markdown:
    """Markdown, with `*actions*` (emphasis) coloured apart and "speech" in bold."""
    marked = _SPEECH.sub(lambda m: f"**{m.group(0)}**", text)
    return Markdown(marked, style="", inline_code_theme="ansi_dark")


_ACTION = re.compile(r"\*[^*\n]+\*?")


def streaming_styled(text: str) -> Text:
    """The look of `styled` for a reply still streaming in, without parsing Markdown.

    A Markdown parse of the whole reply every frame costs the CPU the model needs (on two
    cores, a fifth of its tokens/s); this is a couple of regex passes. The finished reply is
    drawn with `styled`.
    """
    shown = Text(text)
    for match in _ACTION.finditer(text):
        shown.stylize("italic", match.start(), match.end())
    for match in _SPEECH.finditer(text):
        shown.stylize("bold", match.start(), match.end())
    return shown


def most_lines(text: str, width: int) -> int:
    """An upper bound on the lines `text` takes wrapped at `width`, without wrapping it.

    A greedy wrap ends a line early only by less than the next word's width, so each full line
    holds more than `width - longest word` cells. Words near the width fold unpredictably: the
    bound is then the text's cell count, one cell a line (always safe, never used in practice).
    """
    lines = 0
    for paragraph in text.split("\n"):
        cells = cell_len(paragraph)
        longest = max((cell_len(word) for word in paragraph.split()), default=0)
        usable = width - longest if longest < width // 2 else 1
        lines += max(1, -(-cells // usable))
    return lines


class ChatMessage(Static, can_focus=True):
    """One turn of the conversation."""

    virtual_size = steady_virtual_size()

    BINDINGS = [
        Binding("e", "edit", "Edit"),
        Binding("d", "delete", "Delete"),
        Binding("b", "branch", "Branch here"),
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

    def __init__(self, shown: Shown, *, live: bool = False) -> None:
        """`live`: a reply still streaming in (drawn the cheap way until it is redrawn)."""
        super().__init__(classes="mine" if shown.mine else "theirs")
        self.shown = shown
        self.live = live
        self._text = shown.text
        self.update(self._content())

    @property
    def text(self) -> str:
        return self._text

    def append(self, piece: str) -> None:
        """Grow the text; lay the screen out again only when it outgrows the room kept for it.

        A layout re-arranges and repaints every widget on screen (most of a frame's CPU, taken
        from the model while it streams), so a streaming block keeps `GROWTH_LINES` spare lines
        below its text: new words repaint this block alone until they fill them.
        """
        self._text += piece
        self.update(self._content(), layout=False)
        width = self.content_size.width
        if not width:
            self.refresh(layout=True)
            return
        room = self.content_size.height
        if 1 + most_lines(self._text, width) <= room:  # the speaker's line, then the text
            return  # fits for sure: spares a second wrap of the whole reply each frame
        needed = self.get_content_height(self.size, self.size, width)
        if needed > room:
            chrome = self.size.height - room
            self.styles.min_height = chrome + needed + GROWTH_LINES

    def _content(self) -> Group:
        head = Text(self.shown.speaker, style="bold")
        if self.shown.swipe is not None and self.shown.swipe[1] > 1:
            n, of = self.shown.swipe
            head.append(f"  ◀ {n}/{of} ▶", style="dim")
        if not self._text:
            return Group(head, Text("…", style="dim"))
        return Group(head, streaming_styled(self._text) if self.live else styled(self._text))

    def action_edit(self) -> None:
        self.post_message(self.Action(self, "edit"))

    def action_delete(self) -> None:
        self.post_message(self.Action(self, "delete"))

    def action_branch(self) -> None:
        self.post_message(self.Action(self, "branch"))

    def action_swipe(self, step: int) -> None:
        self.post_message(self.Action(self, "swipe", step))


class ChatLog(VerticalScroll, can_focus=False):
    def on_mount(self) -> None:
        self.anchor()

    @property
    def blocks(self) -> list[ChatMessage]:
        return list(self.query_children(ChatMessage))

    def show(self, wanted: Sequence[Shown]) -> None:
        """Make the log show `wanted`, redrawing only from the first block that differs."""
        blocks = self.blocks
        keep = 0
        while keep < min(len(blocks), len(wanted)) and blocks[keep].shown == wanted[keep]:
            keep += 1
        for block in blocks[keep:]:
            block.remove()
        if wanted[keep:]:
            self.mount_all([ChatMessage(shown) for shown in wanted[keep:]])

    def add(self, shown: Shown, *, live: bool = False) -> ChatMessage:
        block = ChatMessage(shown, live=live)
        self.mount(block)
        return block

    def index_of(self, block: ChatMessage) -> int:
        return self.blocks.index(block)
