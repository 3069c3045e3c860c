"""A one-line question: a prompt, an Input, Enter to answer, Esc to cancel."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label


class AskDialog(ModalScreen[str | None]):
    """Returns the stripped answer on Enter (an empty one is refused), None on Esc."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, prompt: str, *, value: str = "", placeholder: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.prompt = prompt
        self.value = value
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog ask"):
            yield Label(self.title_text, classes="dialog-title")
            yield Label(self.prompt, classes="dialog-prompt")
            yield Input(self.value, placeholder=self.placeholder, id="ask-input")
            yield Label("Enter confirms · Esc cancels", classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one("#ask-input", Input).focus()

    @on(Input.Submitted, "#ask-input")
    def _submitted(self, event: Input.Submitted) -> None:
        answer = event.value.strip()
        if not answer:
            self.notify("Type an answer, or press Esc to cancel.", severity="warning")
            return
        self.dismiss(answer)

    def action_cancel(self) -> None:
        self.dismiss(None)
