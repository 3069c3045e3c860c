"""New character: ask for a name, write a blank sheet into the library, open it in the editor.

Shared by the library (where characters are managed) and the editor (to start the next one).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.app import App

from app.errors import LoreweaverError
from app.home import Home
from app.sheets import catalog, library
from app.sheets.ids import slug
from app.tui.screens.ask import AskDialog


def create_character(app: App[Any], where: Home, closed: Callable[[str], None]) -> None:
    """Ask for the name (its id is made from it), write the blank sheet, push its editor;
    `closed(id)` runs when that editor closes. A taken id or a bad name is a notification."""
    from app.tui.screens.editor import EditorScreen  # the editor offers this action too

    def named(name: str | None) -> None:
        if name is None:
            return
        try:
            entry = catalog.new_character(where, slug(name), name)
            sheet = library.load_sheet(entry.path)
        except LoreweaverError as exc:
            app.notify(str(exc), severity="error", timeout=8, markup=False)
            return
        app.notify(f"Created {entry.id!r}: fill it in, then Ctrl+S.", markup=False)
        app.push_screen(EditorScreen(where, entry, sheet), lambda _saved: closed(entry.id))

    app.push_screen(
        AskDialog("New character", "Name (the id is made from it)", placeholder="Mira Quill"),
        named,
    )
