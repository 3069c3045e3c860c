"""The dialogue export dialog (`e` in the chats manager): a format and a file for a chat's whole
tree (`app.export`). The file name follows the format until the user edits it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList

from app.export import FORMATS

LABELS = {
    "json": "JSON (canonical, with a JSON Schema)",
    "csv": "CSV (localisation / voice-over strings)",
    "yarn": "Yarn Spinner 3",
    "ink": "Ink",
    "renpy": "Ren'Py",
    "twee": "Twee 3 (Twine)",
    "godot": "Godot Dialogue Manager",
    "markdown": "Markdown screenplay",
}


@dataclass(frozen=True)
class ExportRequest:
    form: str
    path: Path


class DialogueExportDialog(ModalScreen[ExportRequest | None]):
    """Returns the chosen format and path on Enter in the path field, None on Esc."""

    DEFAULT_CSS = """
    DialogueExportDialog #export-formats { height: auto; max-height: 10; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, chat_id: int, folder: Path) -> None:
        super().__init__()
        self.chat_id = chat_id
        self.folder = folder
        self.form = "json"

    def _default(self, form: str) -> str:
        return str(self.folder / f"chat-{self.chat_id}.{FORMATS[form][0]}")

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog ask"):
            yield Label(f"Export chat {self.chat_id} as dialogue", classes="dialog-title")
            yield OptionList(*(LABELS[form] for form in FORMATS), id="export-formats")
            yield Input(self._default(self.form), id="export-path")
            yield Label(
                "↑↓ format · Tab to the file · Enter exports · Esc cancels", classes="dialog-hint"
            )

    def on_mount(self) -> None:
        formats = self.query_one("#export-formats", OptionList)
        formats.highlighted = 0
        formats.focus()

    @on(OptionList.OptionHighlighted, "#export-formats")
    def _format(self, event: OptionList.OptionHighlighted) -> None:
        path = self.query_one("#export-path", Input)
        form = list(FORMATS)[event.option_index]
        if path.value == self._default(self.form):  # not edited: follow the format
            path.value = self._default(form)
        self.form = form

    @on(OptionList.OptionSelected, "#export-formats")
    def _chosen(self) -> None:
        self.query_one("#export-path", Input).focus()

    @on(Input.Submitted, "#export-path")
    def _submitted(self, event: Input.Submitted) -> None:
        if not event.value.strip():
            self.notify("Type a file to write, or press Esc to cancel.", severity="warning")
            return
        self.dismiss(ExportRequest(self.form, Path(event.value.strip()).expanduser()))

    def action_cancel(self) -> None:
        self.dismiss(None)
