"""A dialog to choose who the user is in this chat: a name and a short description."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, TextArea


class PersonaScreen(ModalScreen[tuple[str, str] | None]):
    """Returns (name, description) on Ctrl+S, None on Esc."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Save"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, name: str, description: str) -> None:
        super().__init__()
        self.persona_name = name
        self.description = description

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Your persona in this chat — Ctrl+S saves, Esc cancels")
            yield Input(self.persona_name, placeholder="your name", id="persona-name")
            yield TextArea(self.description, id="persona-description", soft_wrap=True)

    @on(Input.Submitted, "#persona-name")
    def action_save(self) -> None:
        name = self.query_one("#persona-name", Input).value.strip()
        if not name:
            self.notify("A persona needs a name.", severity="warning")
            return
        self.dismiss((name, self.query_one("#persona-description", TextArea).text))

    def action_cancel(self) -> None:
        self.dismiss(None)
