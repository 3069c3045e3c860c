"""The author's note of the open chat: its text, depth, frequency and role (F6).

Returns the edited `AuthorsNote` on Ctrl+S (empty text: no note) or None on Esc; a bad number
is one notification naming the field, and the dialog stays open with what was typed.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Select, TextArea

from app.errors import LoreweaverError
from app.memory.authors_note import AuthorsNote, make_note
from app.memory.store import ROLES


class AuthorsNoteScreen(ModalScreen[AuthorsNote | None]):
    DEFAULT_CSS = """
    AuthorsNoteScreen .field { height: auto; margin: 1 0 0 0; }
    AuthorsNoteScreen .name { width: 38; }
    AuthorsNoteScreen Input, AuthorsNoteScreen Select { width: 1fr; }
    AuthorsNoteScreen .hint { width: 100%; }
    """
    BINDINGS = [
        Binding("ctrl+s", "save", "Save"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, note: AuthorsNote | None) -> None:
        super().__init__()
        self.note = note or AuthorsNote()

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(
                "Author's note for this chat — Ctrl+S saves (empty removes it), Esc cancels",
                classes="hint",
            )
            yield TextArea(self.note.text, id="note-text", soft_wrap=True)
            with Horizontal(classes="field"):
                yield Label("depth (0: with the notes at the end)", classes="name")
                yield Input(str(self.note.depth), id="note-depth", type="integer", compact=True)
            with Horizontal(classes="field"):
                yield Label("every N user turns (0: off)", classes="name")
                yield Input(
                    str(self.note.frequency), id="note-frequency", type="integer", compact=True
                )
            with Horizontal(classes="field"):
                yield Label("role (at a depth)", classes="name")
                yield Select(
                    [(role, role) for role in ROLES],
                    value=self.note.role,
                    id="note-role",
                    allow_blank=False,
                    compact=True,
                )

    def on_mount(self) -> None:
        area = self.query_one("#note-text", TextArea)
        area.styles.height = 6  # inline: the app's stylesheet gives dialogs' TextAreas 12 rows
        area.focus()

    def edited(self) -> AuthorsNote:
        """The note as the form shows it; raises LoreweaverError naming a bad field."""
        numbers: dict[str, int] = {}
        for field in ("depth", "frequency"):
            text = self.query_one(f"#note-{field}", Input).value.strip()
            try:
                numbers[field] = int(text)
            except ValueError:
                raise LoreweaverError(f"author's note: {field} must be a whole number") from None
        return make_note(
            self.query_one("#note-text", TextArea).text,
            role=str(self.query_one("#note-role", Select).value),
            **numbers,
        )

    def action_save(self) -> None:
        try:
            note = self.edited()
        except LoreweaverError as exc:
            self.notify(str(exc), severity="error", timeout=8)
            return
        self.dismiss(note)

    def action_cancel(self) -> None:
        self.dismiss(None)
