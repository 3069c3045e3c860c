"""The help screen (F1 / ?) lists the live keys of the screen it was opened from."""

from __future__ import annotations

from support import wait_until
from textual.binding import Binding
from textual.widgets import Static
from tui.chat_support import scripted_app

from app.home import Home
from app.tui.app import LoreweaverApp
from app.tui.screens.chat import ChatScreen
from app.tui.screens.help import HelpScreen
from app.tui.screens.library import LibraryScreen


def _rows(app: LoreweaverApp) -> dict[str, str]:
    assert isinstance(app.screen, HelpScreen)
    return {description: keys for keys, description in app.screen.rows}


async def test_f1_on_the_chat_lists_the_app_keys_and_escape_closes(lw_home: Home) -> None:
    app = scripted_app(lw_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.session is not None)
        main = app.screen
        await pilot.press("f1")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
        rows = _rows(app)
        assert rows["Library"] == "^o"
        # the chat box has focus and would type a "?", so only F1 is listed here
        assert rows["Help"] == "f1"
        assert rows["Quit"] == "^q"
        assert rows["Edit"] == "f5"  # not ^e: the chat box keeps it for end-of-line
        # every chat and app binding is listed: one missing is shadowed by the box's own keys
        for binding in [*ChatScreen.BINDINGS, *LoreweaverApp.BINDINGS]:
            assert isinstance(binding, Binding) and binding.description in rows
        # the keys of a focused message too, and the chat's dialogs
        assert rows["Actions (on a message)"] == "⏎"
        assert rows["Delete (on a message)"] == "del"
        assert rows["Undo delete"] == "^z"
        assert (rows["Author's note"], rows["State"], rows["Chats"]) == ("f6", "f7", "f8")
        assert rows["Bookmark"] == "^b"
        # widget keys (the box's cursor moves) are not
        assert not any("cursor" in description.lower() for description in rows)
        assert "Keys&#160;—&#160;Loreweaver" in app.export_screenshot()
        assert "Ctrl+P" in str(app.screen.query_one("#help-tips", Static).content)
        await pilot.press("f1")
        await wait_until(pilot, lambda: app.screen is main)


async def test_question_mark_on_the_library_lists_its_own_keys(lw_home: Home) -> None:
    app = scripted_app(lw_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.session is not None)
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: isinstance(app.screen, LibraryScreen) and app.screen.loaded)
        library = app.screen
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
        assert isinstance(app.screen, HelpScreen) and app.screen.heading == "Keys — Library"
        rows = _rows(app)
        assert rows["Import"] == "i" and rows["Delete"] == "del / x" and rows["Back"] == "esc"
        assert rows["Help"] == "f1 / ?"
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is library)


async def test_help_is_also_a_palette_command(lw_home: Home) -> None:
    app = scripted_app(lw_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.session is not None)
        await pilot.press("ctrl+p", *"help")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
