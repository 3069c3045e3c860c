"""What the prompt is made of: each section with its token count, what fired and what was cut.

The same view as `loreweaver prompt --explain`, over the chat on screen.
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label

from app.memory.assembly import Assembly

_PADDING = 2
"""Cells a DataTable adds around each column's text (one either side)."""


class SectionsTable(DataTable[str | Text]):
    """The sections, their tokens and why: the "why" column wraps to the table's width, so the
    reasons (which lore key fired, what was cut) are read in full, not cut at the edge."""

    def __init__(self, assembly: Assembly) -> None:
        super().__init__(id="sections", cursor_type="row", zebra_stripes=True)
        self.assembly = assembly
        self._filled_for = 0

    def on_resize(self, event: events.Resize) -> None:
        self.fill(event.size.width)

    def fill(self, width: int) -> None:
        """Lay the rows out for a table `width` cells wide (again only if it changed)."""
        if width == self._filled_for or width <= 0:
            return
        self._filled_for = width
        sections = self.assembly.sections
        name_width = max([len("section"), *(len(s.name) for s in sections)])
        tokens_width = max([len("tokens"), *(len(str(s.tokens)) for s in sections)])
        room = width - self.styles.scrollbar_size_vertical  # kept free: rows may outgrow the height
        why_width = max(12, room - name_width - tokens_width - 3 * _PADDING)
        row = self.cursor_row
        self.clear(columns=True)
        self.add_column("section", width=name_width)
        self.add_column("tokens", width=tokens_width)
        self.add_column("what and why", width=why_width)
        for section in sections:
            for number, line in enumerate(section.lines or ["-"]):
                first = number == 0
                why = Text(line, overflow="fold")
                height = len(why.wrap(self.app.console, why_width))
                self.add_row(
                    section.name if first else "",
                    str(section.tokens) if first else "",
                    why,
                    height=height,
                )
        self.move_cursor(row=min(row, self.row_count - 1))


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
            yield SectionsTable(self.assembly)

    def on_mount(self) -> None:
        self.query_one(SectionsTable).focus()

    def action_close(self) -> None:
        self.dismiss(None)
