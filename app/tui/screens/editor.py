"""The character editor: every field of a sheet, checked as you type, saved atomically.

Each edit (debounced) rebuilds the sheet from the boxes and runs `library.validate_sheet` on it,
so the message beside a box is exactly what loading the saved file would say. Token counts come
from the loaded model in a thread worker (cached per text) and are estimated with a "~" until it
can count. Saving goes through `app.sheets.saving` (atomic; a sample is saved as a copy in the
user's home, same id, so it shadows the sample). Leaving with unsaved edits asks first.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import (
    Button,
    Checkbox,
    Footer,
    Header,
    Input,
    Label,
    Select,
    Static,
    TabbedContent,
    TabPane,
    TextArea,
)
from textual.worker import get_current_worker

from app.engine.base import Engine
from app.errors import LoreweaverError
from app.home import Home
from app.memory.lore import Probe, book_problems, probe
from app.sheets import library, saving
from app.sheets.sheet import Sheet
from app.tui.lore_form import error_key
from app.tui.messages import LoreProbed, TokensCounted
from app.tui.screens.editor_commands import EditorCommands
from app.tui.screens.new_character import create_character
from app.tui.screens.unsaved import confirm_leave
from app.tui.screens.world_book import WorldBookScreen
from app.tui.sheet_form import (
    FIELDS,
    TABS,
    FieldSpec,
    error_field,
    estimate_tokens,
    form_data,
    sheet_texts,
)
from app.tui.widgets.field_box import CHECK_DELAY_S, FieldBox
from app.tui.widgets.lore_editor import LoreEditor
from app.tui.widgets.world_books import WorldBooks

NO_MODEL_CTX = 8192
"""The context window the lore test assumes until a model is loaded (it caps the lore budget)."""


def _control(spec: FieldSpec, text: str) -> Input | TextArea:
    box_id = f"field-{spec.name}"
    if spec.kind == "number":
        return Input(text, id=box_id, type="integer", compact=True)
    if spec.kind == "line":
        return Input(text, id=box_id, type="text", compact=True)
    return TextArea(
        text, id=box_id, soft_wrap=True, tab_behavior="focus", classes=spec.kind, compact=True
    )


class EditorScreen(Screen[bool]):
    """Dismissed with True when the sheet was saved (so the app reloads it), else False."""

    COMMANDS = {EditorCommands}
    BINDINGS = [
        Binding("ctrl+s", "save", "Save"),
        Binding("escape", "close", "Close"),
        Binding("ctrl+n", "add_entry", "New entry"),
        Binding("ctrl+t", "lore_test", "Lore test"),
    ]

    def __init__(self, where: Home, entry: library.Entry, sheet: Sheet) -> None:
        super().__init__()
        self.where = where
        self.entry = entry
        self.sheet = sheet
        self.saved = False
        self.problem: str | None = None
        """The current validation message (None: the form holds a valid sheet)."""
        self._baseline: tuple[object, ...] = ()
        self._check_timer: Timer | None = None
        self._counts: dict[str, int] = {}
        self._counted_by: Engine | None = None
        self._probe_text: str | None = None

    # -- layout ----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        texts = sheet_texts(self.sheet)
        yield Header()
        yield Label("", id="editor-where", markup=False)
        yield Label("", id="editor-problem", markup=False)
        with TabbedContent(id="editor-tabs"):
            for tab in TABS:
                with TabPane(tab, id=f"tab-{tab.split()[0].lower()}"), VerticalScroll():
                    for spec in FIELDS:
                        if spec.tab == tab:
                            control = _control(spec, texts[spec.name])
                            yield FieldBox(
                                spec.label, control, field=spec.name, counted=spec.kind != "number"
                            )
            with TabPane("Lorebook", id="tab-lorebook"):
                yield WorldBooks()
                yield LoreEditor(self.sheet.character_book)
            with TabPane("Lore test", id="tab-loretest"):
                yield Input(
                    placeholder="Type a message: the entries it would fire show below",
                    id="lore-test",
                )
                with VerticalScroll(id="lore-test-scroll"):
                    yield Static("", id="lore-test-result", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"Editing {self.sheet.name}"
        self._baseline = self._snapshot()
        self._show_where()
        self._check()
        self.set_interval(1.0, self._engine_poll)
        self.query_one("#field-name").focus()

    def _show_where(self) -> None:
        if self.entry.sample:
            where = "sample — saving keeps a copy in your library"
        else:
            where = "your library" if self._in_home(self.entry.path) else str(self.entry.path)
        dirty = " · ● unsaved changes" if self.dirty else ""
        self.query_one("#editor-where", Label).update(f"{self.entry.id}: {where}{dirty}")

    def _in_home(self, path: Path) -> bool:
        return path.parent.resolve() == self.where.characters.resolve()

    @property
    def lore(self) -> LoreEditor:
        return self.query_one(LoreEditor)

    def _boxes(self) -> list[FieldBox]:
        return [
            box
            for box in self.query(FieldBox)
            if not box.field.startswith("entry.") and box.field != "settings"
        ]

    def _texts(self) -> dict[str, str]:
        return {box.field: box.text for box in self._boxes()}

    def _snapshot(self) -> tuple[object, ...]:
        return (tuple(sorted(self._texts().items())), self.lore.snapshot())

    @property
    def check_pending(self) -> bool:
        """An edit is waiting for the debounced check (validation and counts)."""
        return self._check_timer is not None

    @property
    def dirty(self) -> bool:
        """Whether the form differs from what was loaded or last saved (read from the widgets,
        so an edit made a moment ago counts even before the debounced check runs)."""
        return self._snapshot() != self._baseline

    # -- live checks -----------------------------------------------------------------------

    @on(Input.Changed)
    @on(TextArea.Changed)
    @on(Checkbox.Changed)
    @on(Select.Changed)
    @on(Button.Pressed, "#lore-add, #lore-remove")
    def _schedule_check(self) -> None:
        if self._check_timer is not None:
            self._check_timer.stop()
        self._check_timer = self.set_timer(CHECK_DELAY_S, self._check)

    def _build(self) -> tuple[Sheet | None, dict[str, str], dict[str, str]]:
        """The sheet the form describes, or the problems: per box, and per lorebook box."""
        data, errors = form_data(self._texts())
        book, lore_errors = self.lore.data()
        if book is not None:
            data["character_book"] = book
        if self.sheet.card is not None:  # what the imported card held beyond the boxes, as it was
            data["card"] = self.sheet.card.model_dump(mode="json")
        if errors or lore_errors:
            return None, errors, lore_errors
        try:
            return library.validate_sheet(data), {}, {}
        except LoreweaverError as exc:
            message = str(exc)
        field = error_field(message)
        if field == "character_book":
            return None, {}, {error_key(message): message}
        return None, {field or "": message}, {}

    def _check(self) -> None:
        self._check_timer = None
        sheet, errors, lore_errors = self._build()
        if sheet is not None and sheet.character_book is not None:  # a chat would skip these
            for index, _, problem in book_problems(sheet.character_book, char=sheet.name):
                lore_errors.setdefault(f"{index}.keys", problem)
        for box in self._boxes():
            box.show_error(errors.get(box.field))
        self.lore.show_errors(lore_errors)
        messages = [*errors.values(), *lore_errors.values()]
        self.problem = messages[0] if messages else None
        label = self.query_one("#editor-problem", Label)
        label.update(f"✗ {self.problem}" if self.problem else "✓ valid")
        label.set_class(self.problem is not None, "invalid")
        self._show_where()
        self._count_tokens()
        if sheet is not None:
            self.query_one(WorldBooks).show(sheet.world)
        self._test_lore(sheet)

    def _engine(self) -> Engine | None:
        engine: Engine | None = getattr(self.app, "engine", None)
        return engine

    def _engine_poll(self) -> None:
        """When the model finishes loading (or changes) while the editor is open, recount."""
        if self._engine() is not self._counted_by:
            self._count_tokens()

    def _count_tokens(self) -> None:
        engine = self._engine()
        if engine is not self._counted_by:
            self._counts, self._counted_by = {}, engine
        missing: set[str] = set()
        for box in self.query(FieldBox):
            if not box.counted:
                continue
            text = box.text
            exact = self._counts.get(text)
            if exact is None and engine is not None and text.strip():
                missing.add(text)
            if exact is None and not text.strip():
                exact = 0
            box.show_tokens(
                exact if exact is not None else estimate_tokens(text), exact is not None
            )
        if missing and engine is not None:
            self.count_exact(engine, sorted(missing))

    @work(thread=True, exclusive=True, group="editor-tokens")
    def count_exact(self, engine: Engine, texts: list[str]) -> None:
        counts: dict[str, int] = {}
        worker = get_current_worker()
        for text in texts:
            if worker.is_cancelled:
                return
            try:
                counts[text] = engine.count_tokens(text)
            except LoreweaverError:
                return
        self.post_message(TokensCounted(engine, counts))

    def on_tokens_counted(self, message: TokensCounted) -> None:
        if message.engine is self._counted_by:
            self._counts.update(message.counts)
            self._count_tokens()

    # -- the lore test box -----------------------------------------------------------------

    def _test_lore(self, sheet: Sheet | None) -> None:
        text = self.query_one("#lore-test", Input).value
        result = self.query_one("#lore-test-result", Static)
        if not text.strip():
            result.update("Type a message above to see which entries fire for it.")
            return
        if sheet is None:
            result.update(f"Fix the sheet first: {self.problem}")
            return
        own = sheet.character_book
        if not sheet.world and (own is None or not own.entries):
            result.update("The character has no lorebook entries (Lorebook tab, Ctrl+N).")
            return
        self._probe_text = text
        self.run_probe(sheet, text, self._engine())

    @work(thread=True, exclusive=True, group="editor-lore")
    def run_probe(self, sheet: Sheet, text: str, engine: Engine | None) -> None:
        """Its own book and the world books it names, as a chat reads them (from the home)."""
        count = engine.count_tokens if engine is not None else estimate_tokens
        user = getattr(getattr(self.app, "settings", None), "user_name", "")
        try:
            world = library.world_books(
                self.where, sheet.model_copy(update={"character_book": None})
            )
            found = probe(
                sheet.character_book,
                text,
                count,
                world=world,
                char=sheet.name,
                user=user,
                n_ctx=engine.n_ctx if engine is not None else NO_MODEL_CTX,
            )
        except LoreweaverError as exc:
            found = Probe([], notices=(str(exc),))
        self.post_message(LoreProbed(text, found))

    def on_lore_probed(self, message: LoreProbed) -> None:
        if message.text == self._probe_text:
            self.query_one("#lore-test-result", Static).update(message.probe.render())

    # -- actions ---------------------------------------------------------------------------

    def action_save(self) -> bool:
        """Validate now (not debounced) and write atomically; False when nothing was written."""
        if self._check_timer is not None:
            self._check_timer.stop()
        self._check()
        sheet, _, _ = self._build()
        if sheet is None:
            self.notify(f"Not saved: {self.problem}", severity="error", timeout=8, markup=False)
            return False
        try:
            self.entry = saving.save_sheet(self.where, self.entry, sheet)
        except LoreweaverError as exc:
            self.notify(str(exc), severity="error", timeout=8, markup=False)
            return False
        self.sheet, self.saved = sheet, True
        self._baseline = self._snapshot()
        self.sub_title = f"Editing {sheet.name}"
        self._show_where()
        self.notify(f"Saved {sheet.name}.", markup=False)
        return True

    def confirm_leave(self, then: Callable[[], object]) -> None:
        """Run `then` now if nothing is unsaved; otherwise ask Save / Discard / Cancel first."""
        confirm_leave(self, self.sheet.name, dirty=self.dirty, save=self.action_save, then=then)

    def action_close(self) -> None:
        self.confirm_leave(lambda: self.dismiss(self.saved))

    def action_add_entry(self) -> None:
        self.query_one(TabbedContent).active = "tab-lorebook"
        self.lore.add_entry()
        self._schedule_check()

    def action_remove_entry(self) -> None:
        self.query_one(TabbedContent).active = "tab-lorebook"
        self.lore.remove_entry()
        self._schedule_check()

    def action_new_character(self) -> None:
        """Leave this sheet (asking about unsaved edits first), then start a blank one."""
        app, where = self.app, self.where

        def leave() -> None:
            self.dismiss(self.saved)
            app.call_after_refresh(create_character, app, where, lambda _id: None)

        self.confirm_leave(leave)

    @property
    def world_ids(self) -> tuple[str, ...]:
        """The world books the sheet on screen names (as last validated)."""
        return self.query_one(WorldBooks).ids or ()

    @on(WorldBooks.Open)
    def _world_book_asked(self, event: WorldBooks.Open) -> None:
        self.open_world_book(event.book_id)

    def open_world_book(self, book_id: str) -> None:
        """Edit the shared book `book_id`; when it closes, the lore test reads it again."""
        try:
            screen = WorldBookScreen.load(self.where, self.sheet, book_id)
        except LoreweaverError as exc:
            self.notify(str(exc), severity="error", timeout=8, markup=False)
            return
        self.app.push_screen(screen, lambda _saved: self._check())

    def action_lore_test(self) -> None:
        self.query_one(TabbedContent).active = "tab-loretest"
        self.query_one("#lore-test", Input).focus()
