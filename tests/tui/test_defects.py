"""The defects of issue 13, each replayed with the keys a person pressed when it happened.

1. letters typed while a message had focus acted on it (an edit, then `and`, deleted the chat);
2. the keyboard died after "Branch here" (focus left on a removed widget);
3. typing after picking a character went to the side list (`?` opened Help);
4. the layout followed the previous terminal size;
5. a multi-line impersonated draft showed one line (and a ghost line over the side list).
"""

from __future__ import annotations

from support import wait_until
from textual.widgets import ListView
from tui.chat_support import (
    blocks,
    open_chat,
    say,
    screen_text,
    scripted_app,
    stored_path,
    typed,
)
from tui.fake_engine import FakeEngine

from app.home import Home
from app.tui.app import LoreweaverApp
from app.tui.screens.help import HelpScreen


def _chat_id(app: LoreweaverApp) -> int:
    assert app.session is not None and app.session.chat is not None
    return int(app.session.chat.id)


async def test_1_typing_after_an_edit_never_acts_on_a_message(lw_home: Home) -> None:
    app = scripted_app(lw_home, "Two silver.", "Five.")
    async with app.run_test(size=(120, 40)) as pilot:
        await open_chat(app, pilot)
        await say(app, pilot, "Price of nails?")
        await say(app, pilot, "And a hammer?")
        chat = _chat_id(app)
        before = stored_path(lw_home, chat)
        assert len(before) == 5
        # Shift+Tab ×4 from the input, e, End, type, Ctrl+S, then "and"
        await pilot.press("shift+tab", "shift+tab", "shift+tab", "shift+tab")
        await pilot.press("e", "end", *"ven", "ctrl+s")
        await pilot.press(*"and")
        await pilot.pause()
        assert stored_path(lw_home, chat) == before  # nothing edited, nothing deleted
        assert len(blocks(app)) == 5
        assert typed(app) == "evenand"  # every letter reached the message box
        assert app.focused is app.screen.query_one("#say")


async def test_1_delete_asks_naming_what_goes_and_ctrl_z_restores_it(lw_home: Home) -> None:
    from app.tui.screens.confirm import ConfirmDialog

    app = scripted_app(lw_home, "Two silver.", "Five.")
    async with app.run_test(size=(120, 40)) as pilot:
        await open_chat(app, pilot)
        await say(app, pilot, "Price of nails?")
        await say(app, pilot, "And a hammer?")
        chat = _chat_id(app)
        before = stored_path(lw_home, chat)
        blocks(app)[1].focus()  # the first line the user sent
        await pilot.press("delete")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        assert isinstance(app.screen, ConfirmDialog)
        assert "this message and the 3 after it" in app.screen.question
        await pilot.press("n")  # no: nothing goes
        await wait_until(pilot, lambda: not isinstance(app.screen, ConfirmDialog))
        assert stored_path(lw_home, chat) == before
        blocks(app)[1].focus()
        await pilot.press("delete")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_until(pilot, lambda: len(blocks(app)) == 1)
        assert stored_path(lw_home, chat) == before[:1]
        assert app.focused is app.screen.query_one("#say")
        await pilot.press("ctrl+z")
        await wait_until(pilot, lambda: len(blocks(app)) == 5)
        assert stored_path(lw_home, chat) == before
        assert [b.text for b in blocks(app)] == before
        await pilot.press(*"ok")
        assert typed(app) == "ok"


async def test_2_keyboard_lives_after_b_and_after_branch_here(lw_home: Home) -> None:
    app = scripted_app(lw_home, "Two silver.")
    async with app.run_test(size=(120, 40)) as pilot:
        await open_chat(app, pilot)
        await say(app, pilot, "Price of nails?")
        first = _chat_id(app)
        # from the input: Shift+Tab (last reply focused), b
        await pilot.press("shift+tab", "b")
        await pilot.press(*"ye")
        await pilot.pause()
        assert typed(app) == "bye" and _chat_id(app) == first  # b was a letter, not "Branch"
        # Branch here, the unambiguous way: Enter on a focused message opens its actions
        await pilot.press("ctrl+u")  # clear the box (TextArea: delete to line start)
        await pilot.press("shift+tab", "enter")
        await wait_until(pilot, lambda: app.screen.id == "message-actions")
        await pilot.press(*"branch", "enter")  # the menu filters as you type
        await wait_until(pilot, lambda: _chat_id(app) != first)
        await pilot.press(*"hi")
        await pilot.pause()
        assert typed(app).endswith("hi")
        assert app.focused is app.screen.query_one("#say")


async def test_3_typing_after_picking_from_the_side_list_goes_to_the_input(lw_home: Home) -> None:
    app = scripted_app(lw_home)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.session is not None)
        before = app.current_id
        side = app.screen.query_one("#characters", ListView)
        # The list is read just after the first paint, the open character highlighted.
        await wait_until(
            pilot,
            lambda: side.highlighted_child is not None and side.highlighted_child.name == before,
        )
        side.focus()
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: app.session is not None and app.current_id != before)
        await pilot.press(*"hi?")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)
        assert typed(app) == "hi?"


async def test_3_typing_after_picking_from_the_library_goes_to_the_input(lw_home: Home) -> None:
    from app.tui.screens.library import LibraryScreen

    app = scripted_app(lw_home)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.session is not None)
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: isinstance(app.screen, LibraryScreen) and app.screen.loaded)
        await pilot.press("slash", *"hobb", "enter", "enter")
        await wait_until(pilot, lambda: app.current_id == "hobb" and app.session is not None)
        await pilot.press(*"hi?")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)
        assert typed(app) == "hi?"


async def test_4_layout_follows_the_current_terminal_size(lw_home: Home) -> None:
    app = scripted_app(lw_home)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.session is not None)
        side = app.screen.query_one("#characters")
        status = app.screen.query_one("#status")
        assert side.region.width > 0
        await pilot.resize_terminal(80, 24)
        await wait_until(pilot, lambda: app.size.width == 80)
        await pilot.pause()
        assert side.region.width == 0  # hidden below 100 columns
        assert status.region.right <= 80
        assert app.screen.query_one("#say").region.x == 0  # the box has the whole width
        await pilot.resize_terminal(120, 40)
        await wait_until(pilot, lambda: app.size.width == 120)
        await pilot.pause()
        assert side.region.width > 0
        assert app.model is not None and app.model.name[:10] in str(status.render())


async def test_5_a_multi_line_impersonation_shows_every_line(lw_home: Home) -> None:
    draft = "I lean on the counter.\nThen I ask about the sword.\nAnd I wait."
    engine = FakeEngine(replies=[[draft], ["Fine."]])
    app = scripted_app(lw_home, engine=engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_chat(app, pilot)
        await pilot.press("ctrl+y")
        await wait_until(pilot, lambda: not app.busy and typed(app) == draft)
        await pilot.pause()
        shown = screen_text(app)
        for line in draft.splitlines():
            assert line in shown, shown
        box = app.screen.query_one("#say")
        assert box.region.x > 0  # drawn in the chat column, not over the side list
        await pilot.press("enter")
        await wait_until(pilot, lambda: not app.busy and len(blocks(app)) == 3)
        assert blocks(app)[1].text == draft  # what was sent is what was shown
