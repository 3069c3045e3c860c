"""The author's note dialog on its own (Pilot): typed, checked, saved or cancelled."""

from __future__ import annotations

from support import wait_until
from textual.app import App
from textual.widgets import DataTable, Input, TextArea

from app.home import Home
from app.memory.authors_note import AuthorsNote
from app.tui.screens.authors_note import AuthorsNoteScreen
from app.tui.screens.context import ContextScreen
from app.tui.widgets.composer import Composer


class _Host(App[None]):
    def __init__(self, note: AuthorsNote | None) -> None:
        super().__init__()
        self.note = note
        self.results: list[AuthorsNote | None] = []

    def on_mount(self) -> None:
        self.push_screen(AuthorsNoteScreen(self.note), self.results.append)


async def test_typing_a_note_and_saving_returns_it() -> None:
    app = _Host(None)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"Keep it grim.")
        await pilot.press("tab")  # to depth
        await pilot.press("backspace", "4", "tab")
        await pilot.press("backspace", "2")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: bool(app.results))
    assert app.results == [AuthorsNote(text="Keep it grim.", depth=4, frequency=2)]


async def test_a_bad_number_keeps_the_dialog_open_with_one_error() -> None:
    app = _Host(AuthorsNote(text="old", depth=1))
    async with app.run_test(size=(120, 40)) as pilot:
        app.screen.query_one("#note-frequency", Input).value = "-3"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, AuthorsNoteScreen)
        assert not app.results
        notices = list(app._notifications)
        assert len(notices) == 1 and "frequency" in notices[0].message
        await pilot.resize_terminal(80, 24)
        app.screen.query_one("#note-frequency", Input).value = "3"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: bool(app.results))
    assert app.results == [AuthorsNote(text="old", depth=1, frequency=3)]


async def test_escape_cancels_even_after_typing() -> None:
    app = _Host(AuthorsNote(text="kept"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("end", *" more")
        assert app.screen.query_one("#note-text", TextArea).text.endswith("more")
        await pilot.press("escape")
        await wait_until(pilot, lambda: bool(app.results))
    assert app.results == [None]


async def test_f6_in_the_app_sets_the_chat_note_used_by_the_next_prompt(lw_home: Home) -> None:
    from tui.fake_engine import FakeEngine

    from app.memory.authors_note import load_note
    from app.tui.app import LoreweaverApp

    engine = FakeEngine()
    app = LoreweaverApp(lw_home, loader=lambda info, settings: engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.session is not None)
        await pilot.press("f6")
        await wait_until(pilot, lambda: isinstance(app.screen, AuthorsNoteScreen))
        await pilot.press(*"Snow falls.")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: not isinstance(app.screen, AuthorsNoteScreen))
        box = app.query_one("#say", Composer)
        assert app.focused is box
        await pilot.press(*"Hi", "enter")
        await wait_until(pilot, lambda: app.reply is None and not engine.prompts.empty())
        assert "Snow falls." in engine.prompts.get_nowait()
        assert app.store is not None and app.session is not None and app.session.chat is not None
        assert load_note(app.store, app.session.chat.id) == AuthorsNote(text="Snow falls.")
        await wait_until(pilot, lambda: not app.busy)
        await pilot.press("f4")  # the context view names it among the per-turn notes
        await wait_until(pilot, lambda: isinstance(app.screen, ContextScreen))
        table = app.screen.query_one(DataTable)
        cells = [str(cell) for row in table.rows for cell in table.get_row(row)]
        assert any("author's note (in the per-turn notes, every turn)" in c for c in cells)
