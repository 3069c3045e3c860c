"""A shared world lorebook (one a sheet names in `world`), edited with the same form as a
character's own book, checked as you type, saved atomically into the home.

A sample world book (in the repository) is read-only: saving writes a copy into the home's
lorebooks under the same id, which from then on wins for every character that names it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pydantic import ValidationError
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Button, Checkbox, Footer, Header, Input, Label, Select, TextArea

from app.errors import LoreweaverError
from app.home import Home
from app.sheets import library, saving
from app.sheets.lorebook import Lorebook
from app.sheets.sheet import Sheet
from app.sheets.validation import describe
from app.tui.lore_form import error_key
from app.tui.screens.unsaved import confirm_leave
from app.tui.widgets.field_box import CHECK_DELAY_S
from app.tui.widgets.lore_editor import LoreEditor


class WorldBookScreen(Screen[bool]):
    """Dismissed with True when the book was saved (the editor's lore test then re-runs)."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Save"),
        Binding("escape", "close", "Close"),
        Binding("ctrl+n", "add_entry", "New entry"),
    ]

    def __init__(self, where: Home, book_id: str, path: Path, book: Lorebook) -> None:
        super().__init__()
        self.where = where
        self.book_id = book_id
        self.path = path
        self.book = book
        self.saved = False
        self.problem: str | None = None
        self._baseline: tuple[object, ...] = ()
        self._check_timer: Timer | None = None

    @classmethod
    def load(cls, where: Home, sheet: Sheet, book_id: str) -> WorldBookScreen:
        """The screen for world book `book_id` (named by `sheet`) as a chat reads it (the
        user's copy first)."""
        path = library.world_book_path(where, sheet, book_id)
        return cls(where, book_id, path, library.load_lorebook(path))

    def compose(self) -> ComposeResult:
        yield Header()
        yield Label("", id="editor-where", markup=False)
        yield Label("", id="editor-problem", markup=False)
        yield LoreEditor(self.book)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"World book {self.book_id}"
        self._baseline = self.query_one(LoreEditor).snapshot()
        self._check()
        self.query_one("#lore-entries").focus()

    @property
    def sample(self) -> bool:
        return self.path.parent.resolve() != self.where.lorebooks.resolve()

    @property
    def dirty(self) -> bool:
        return self.query_one(LoreEditor).snapshot() != self._baseline

    def _show_where(self) -> None:
        where = (
            "sample — saving keeps a copy in your library, used by every character naming it"
            if self.sample
            else "your library"
        )
        dirty = " · ● unsaved changes" if self.dirty else ""
        self.query_one("#editor-where", Label).update(f"{self.book_id}: {where}{dirty}")

    @on(Input.Changed)
    @on(TextArea.Changed)
    @on(Checkbox.Changed)
    @on(Select.Changed)
    @on(Button.Pressed, "#lore-add, #lore-remove")
    def _schedule_check(self) -> None:
        if self._check_timer is not None:
            self._check_timer.stop()
        self._check_timer = self.set_timer(CHECK_DELAY_S, self._check)

    def _build(self) -> tuple[Lorebook | None, dict[str, str]]:
        data, errors = self.query_one(LoreEditor).data()
        if errors:
            return None, errors
        try:
            return Lorebook.model_validate(data or {}), {}
        except ValidationError as exc:
            message = describe(exc)
            return None, {error_key(message): message}

    def _check(self) -> None:
        self._check_timer = None
        _, errors = self._build()
        self.query_one(LoreEditor).show_errors(errors)
        self.problem = next(iter(errors.values()), None)
        problem = self.query_one("#editor-problem", Label)
        problem.update(f"✗ {self.problem}" if self.problem else "✓ valid")
        problem.set_class(self.problem is not None, "invalid")
        self._show_where()

    def action_save(self) -> bool:
        if self._check_timer is not None:
            self._check_timer.stop()
        self._check()
        book, _ = self._build()
        if book is None:
            self.notify(f"Not saved: {self.problem}", severity="error", timeout=8, markup=False)
            return False
        try:
            self.path = saving.save_world_book(self.where, self.book_id, book)
        except LoreweaverError as exc:
            self.notify(str(exc), severity="error", timeout=8, markup=False)
            return False
        self.book, self.saved = book, True
        self._baseline = self.query_one(LoreEditor).snapshot()
        self._show_where()
        self.notify(f"Saved world book {self.book_id}.", markup=False)
        return True

    def confirm_leave(self, then: Callable[[], object]) -> None:
        confirm_leave(
            self, f"World book {self.book_id}", dirty=self.dirty, save=self.action_save, then=then
        )

    def action_close(self) -> None:
        self.confirm_leave(lambda: self.dismiss(self.saved))

    def action_add_entry(self) -> None:
        self.query_one(LoreEditor).add_entry()
        self._schedule_check()
