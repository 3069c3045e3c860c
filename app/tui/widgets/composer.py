"""The message box: several lines, Enter sends, Shift+Enter or Ctrl+J starts a new line.

A `TextArea` that grows with its text up to a few lines (CSS `max-height`), then scrolls. Keys the
chat screen needs are not taken here: Ctrl+Z (undo a delete), Ctrl+Y (impersonate), F6–F8 (the
chat's dialogs) and PageUp/PageDown (scroll the chat); Ctrl+←/→ move by words unless the box is
empty (then they swipe, see the chat screen's `check_action`).
"""

from __future__ import annotations

from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import TextArea

LEFT_TO_THE_SCREEN = frozenset({"ctrl+z", "ctrl+y", "f6", "f7", "f8", "pageup", "pagedown"})


def _kept(binding: Binding | tuple[str, ...]) -> bool:
    keys = binding.key if isinstance(binding, Binding) else binding[0]
    return not LEFT_TO_THE_SCREEN & {key.strip() for key in keys.split(",")}


class Composer(TextArea, inherit_bindings=False):
    BINDINGS = [
        *[binding for binding in TextArea.BINDINGS if _kept(binding)],
        Binding("shift+enter,ctrl+j", "newline", "New line", show=False),
    ]

    class Submitted(Message):
        """Enter: the box's text, to send."""

        def __init__(self, composer: Composer, text: str) -> None:
            super().__init__()
            self.composer = composer
            self.text = text

        @property
        def control(self) -> Composer:
            return self.composer

    def __init__(self, placeholder: str, *, id: str) -> None:  # noqa: A002 (Textual's name)
        super().__init__(
            id=id,
            soft_wrap=True,
            show_line_numbers=False,
            tab_behavior="focus",
            placeholder=placeholder,
            compact=True,
            highlight_cursor_line=False,
        )

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            self.post_message(self.Submitted(self, self.text))
            return
        await super()._on_key(event)

    def action_newline(self) -> None:
        self.insert("\n")

    def hold_cursor(self, held: bool) -> None:
        """A steady cursor while `held` (a reply streaming): no repaint twice a second."""
        self.cursor_blink = not held

    def set_text(self, text: str) -> None:
        """Replace the text, the cursor at its end."""
        self.text = text
        self.move_cursor(self.document.end)
