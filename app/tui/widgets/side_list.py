"""The chat screen's side list: the library's characters by name (ids kept as item names), the open
one highlighted. Refilled only when the characters changed, so a return from the library or the
editor costs nothing when nothing was imported, copied or renamed."""

from __future__ import annotations

from textual.widgets import ListItem, ListView, Static

from app.text import safe_line


class CharacterList(ListView):
    def __init__(self, *, id: str) -> None:  # noqa: A002 (Textual's name)
        super().__init__(id=id)
        self.entries: list[tuple[str, str]] = []
        """(id, name) of each character listed, in the library's order."""

    def show(self, entries: list[tuple[str, str]], current: str | None) -> None:
        """List `entries` (names as plain text: a sheet's brackets are not markup), `current`
        highlighted."""
        if entries == self.entries:
            return
        self.entries = entries
        self.clear()
        self.extend(
            ListItem(Static(safe_line(name), markup=False), name=id_) for id_, name in entries
        )
        self.mark(current)

    def mark(self, character: str | None) -> None:
        """Highlight `character`'s row (if listed)."""
        names = [item.name for item in self.query(ListItem)]
        if character in names:
            self.index = names.index(character)
