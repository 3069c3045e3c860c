"""What the prompt is made of: each section with its token count, what fired and what was cut.

The same view as `loreweaver prompt --explain`, over the chat on screen.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label

from app.memory.assembly import Assembly


class ContextScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,f4,q", "close", "Close")]

    def __init__(self, assembly: Assembly, used: int, window: int) -> None:
        super().__init__()
        self.assembly = assembly
        self.used = used
        self.window = window

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label(f"Context: {self.used} of {self.window} tokens — Esc closes")
            yield DataTable(id="sections", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("section", "tokens", "what and why")
        for section in self.assembly.sections:
            lines = section.lines or ["-"]
            for number, line in enumerate(lines):
                first = number == 0
                table.add_row(
                    section.name if first else "", str(section.tokens) if first else "", line
                )
        table.focus()

    def action_close(self) -> None:
        self.dismiss(None)
