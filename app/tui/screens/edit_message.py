"""A dialog to rewrite one message of the chat (the old text stays in its history)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, TextArea


class EditMessageScreen(ModalScreen[str | None]):
    """Returns the new text (Ctrl+S), or None (Esc)."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Save"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, speaker: str, text: str) -> None:
        super().__init__()
        self.speaker = speaker
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"Edit {self.speaker}'s message — Ctrl+S saves, Esc cancels")
            yield TextArea(self.text, id="edit-text", soft_wrap=True)

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()

    def action_save(self) -> None:
        self.dismiss(self.query_one(TextArea).text)

    def action_cancel(self) -> None:
        self.dismiss(None)
