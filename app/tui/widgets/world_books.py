"""The row above a character's lorebook naming the shared world books its sheet draws on, each
a button that opens that book for editing."""

from __future__ import annotations

from collections.abc import Sequence

from textual import on
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Button, Label


class WorldBooks(Horizontal):
    class Open(Message):
        """The user asked to edit the world book `book_id`."""

        def __init__(self, book_id: str) -> None:
            super().__init__()
            self.book_id = book_id

    def __init__(self) -> None:
        super().__init__(id="world-books")
        self.ids: tuple[str, ...] | None = None

    def show(self, ids: Sequence[str]) -> None:
        """Show a button per world book id (rebuilt only when the ids change)."""
        if tuple(ids) == self.ids:
            return
        self.ids = tuple(ids)
        self.remove_children()
        if not ids:
            self.mount(
                Label(
                    "No shared world books: list their ids in the sheet's Shared lorebooks field.",
                    classes="world-none",
                )
            )
            return
        self.mount(Label("World books:", classes="world-label"))
        self.mount_all(Button(f"{book_id} ▸", name=book_id, compact=True) for book_id in ids)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.name:
            self.post_message(self.Open(event.button.name))
