"""Chat actions in the terminal app, driven through Pilot: swipes and their counter, regenerate,
continue, edit, delete, branch, impersonate, persona, the context view, model settings.

Most use a scripted engine for speed and exact texts; the last flows run the real model."""

from __future__ import annotations

from support import wait_until
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, TextArea
from tui.chat_support import scripted_app, typed

from app.home import Home
from app.settings import SamplingSettings, Settings, load_settings, save_settings
from app.tui.app import LoreweaverApp
from app.tui.screens.context import ContextScreen
from app.tui.screens.model_settings import ModelSettingsScreen
from app.tui.widgets.chat_log import ChatMessage
from app.tui.widgets.composer import Composer


def _blocks(app: LoreweaverApp) -> list[ChatMessage]:
    return list(app.query(ChatMessage))


async def _open(app: LoreweaverApp, pilot: Pilot[None], character: str = "brenna") -> None:
    await wait_until(pilot, lambda: app.session is not None, timeout=120)
    app.open_character(character)
    await wait_until(
        pilot, lambda: app.session is not None and app.current_id == character, timeout=120
    )


async def _say(app: LoreweaverApp, pilot: Pilot[None], text: str) -> None:
    box = app.query_one("#say", Composer)
    box.focus()
    box.text = text
    await pilot.press("enter")
    await wait_until(
        pilot, lambda: not app.busy and _blocks(app)[-1].shown.message_id is not None, timeout=180
    )


def _head(block: ChatMessage) -> str:
    return str(block.shown.swipe)


async def test_regenerate_and_swipe_with_a_counter(lw_home: Home) -> None:
    app = scripted_app(lw_home, "First answer.", "Second answer.")
    async with app.run_test(size=(100, 30)) as pilot:
        await _open(app, pilot)
        await _say(app, pilot, "How much?")
        assert _blocks(app)[-1].text == "First answer."
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: not app.busy and _blocks(app)[-1].text == "Second answer.")
        assert _blocks(app)[-1].shown.swipe == (2, 2)
        await pilot.press("ctrl+left")
        await wait_until(pilot, lambda: _blocks(app)[-1].text == "First answer.")
        assert _blocks(app)[-1].shown.swipe == (1, 2)
        # the greeting's swipes are the alternate greetings
        assert _blocks(app)[0].shown.swipe == (1, 2)


async def test_swiping_right_past_the_last_swipe_regenerates(lw_home: Home) -> None:
    app = scripted_app(lw_home, "One.", "Two.")
    async with app.run_test(size=(100, 30)) as pilot:
        await _open(app, pilot)
        await _say(app, pilot, "Hello.")
        await pilot.press("ctrl+right")
        await wait_until(pilot, lambda: not app.busy and _blocks(app)[-1].text == "Two.")
        assert _blocks(app)[-1].shown.swipe == (2, 2)


async def test_continue_extends_the_last_reply(lw_home: Home) -> None:
    app = scripted_app(lw_home, "The blade", " is sharp.")
    async with app.run_test(size=(100, 30)) as pilot:
        await _open(app, pilot)
        await _say(app, pilot, "Show me.")
        await pilot.press("ctrl+t")
        await wait_until(
            pilot, lambda: not app.busy and _blocks(app)[-1].text == "The blade is sharp."
        )
        assert len(_blocks(app)) == 3


async def _choose(app: LoreweaverApp, pilot: Pilot[None], block: ChatMessage, action: str) -> None:
    """Enter on a focused message, then the action picked from its menu by typing."""
    block.focus()
    await pilot.press("enter")
    await wait_until(pilot, lambda: app.screen.id == "message-actions")
    await pilot.press(*action, "enter")


async def test_edit_delete_and_branch_a_focused_message(lw_home: Home) -> None:
    from app.tui.screens.confirm import ConfirmDialog

    app = scripted_app(lw_home, "Two silver.")
    async with app.run_test(size=(100, 30)) as pilot:
        await _open(app, pilot)
        await _say(app, pilot, "Price of nails?")
        await _choose(app, pilot, _blocks(app)[1], "edit")
        await wait_until(pilot, lambda: bool(app.screen.query(TextArea)) and app.screen.id is None)
        area = app.screen.query_one("#edit-text", TextArea)
        area.text = "Price of horseshoes?"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: _blocks(app)[1].text == "Price of horseshoes?")
        assert app.focused is app.query_one("#say")  # typing goes on in the box
        assert app.store is not None and app.session is not None
        assert app.store.versions(app.session.ids[1])[0] == "Price of nails?"
        first_chat = app.session.chat
        assert first_chat is not None
        await _choose(app, pilot, _blocks(app)[1], "branch")
        await wait_until(
            pilot,
            lambda: (
                app.session is not None
                and app.session.chat is not None
                and app.session.chat.id != first_chat.id
            ),
        )
        assert [b.text for b in _blocks(app)][-1] == "Price of horseshoes?"
        _blocks(app)[-1].focus()
        await pilot.press("delete")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_until(pilot, lambda: len(_blocks(app)) == 1)
        # the original chat still has all three messages
        assert len(app.store.active_path(first_chat.id)) == 3


async def test_swipe_keys_on_a_focused_message_and_typing_there(lw_home: Home) -> None:
    app = scripted_app(lw_home, "One.", "Two.")
    async with app.run_test(size=(100, 30)) as pilot:
        await _open(app, pilot)
        await _say(app, pilot, "Hello.")
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: not app.busy and _blocks(app)[-1].text == "Two.")
        _blocks(app)[-1].focus()
        await pilot.press("left")
        await wait_until(pilot, lambda: _blocks(app)[-1].text == "One.")
        assert app.focused is app.query_one("#say")  # the log was redrawn: focus is in the box
        await pilot.press(*"so")
        assert typed(app) == "so"


async def test_impersonate_drafts_into_the_input(lw_home: Home) -> None:
    app = scripted_app(lw_home, "I would like a sword, please.")
    async with app.run_test(size=(100, 30)) as pilot:
        await _open(app, pilot)
        await pilot.press("ctrl+y")
        await wait_until(
            pilot, lambda: not app.busy and typed(app) == "I would like a sword, please."
        )
        assert len(_blocks(app)) == 1  # nothing was sent


async def test_persona_and_context_view(lw_home: Home) -> None:
    app = scripted_app(lw_home)
    async with app.run_test(size=(100, 30)) as pilot:
        await _open(app, pilot)
        await pilot.press("f3")
        await wait_until(pilot, lambda: bool(app.screen.query("#persona-name")))
        app.screen.query_one("#persona-name", Input).value = "Wren"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.session is not None and app.session.user == "Wren")
        await _say(app, pilot, "Hello.")  # a new chat is stored at its first line, as Wren's
        assert app.store is not None and app.session is not None and app.session.chat is not None
        assert app.store.get_chat(app.session.chat.id).user_name == "Wren"
        await pilot.press("f4")
        await wait_until(pilot, lambda: isinstance(app.screen, ContextScreen))
        table = app.screen.query_one("DataTable", DataTable)
        rows = [str(cell) for row in table.rows for cell in table.get_row(row)]
        assert any("persona" in cell.lower() or "system" in cell.lower() for cell in rows)
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, ContextScreen))


async def test_model_settings_are_validated_and_saved(lw_home: Home) -> None:
    app = scripted_app(lw_home)
    async with app.run_test(size=(120, 40)) as pilot:
        await _open(app, pilot)
        await pilot.press("f2")
        await wait_until(pilot, lambda: isinstance(app.screen, ModelSettingsScreen))
        screen = app.screen
        assert screen.query_one("#models", DataTable).row_count >= 1
        screen.query_one("#s-temperature", Input).value = "hot"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ModelSettingsScreen)  # refused, still open
        assert load_settings(lw_home).sampling == Settings().sampling  # nothing of it saved
        screen.query_one("#s-temperature", Input).value = "0.4"
        screen.query_one("#s-max_tokens", Input).value = "77"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: load_settings(lw_home).sampling.max_tokens == 77)
        saved = load_settings(lw_home)
        assert saved.sampling.temperature == 0.4 and saved.sampling.max_tokens == 77


async def test_real_model_regenerate_and_continue(lw_home: Home) -> None:
    save_settings(lw_home, Settings(sampling=SamplingSettings(max_tokens=16, temperature=0.9)))
    app = LoreweaverApp(lw_home)
    async with app.run_test(size=(100, 30)) as pilot:
        await _open(app, pilot, "old_tam")
        await _say(app, pilot, "Any work for me?")
        first = _blocks(app)[-1].text
        assert first
        await pilot.press("ctrl+r")
        await wait_until(
            pilot, lambda: not app.busy and _blocks(app)[-1].shown.swipe == (2, 2), timeout=180
        )
        second = _blocks(app)[-1].text
        await pilot.press("ctrl+t")
        await wait_until(
            pilot, lambda: not app.busy and len(_blocks(app)[-1].text) > len(second), timeout=180
        )
        assert _blocks(app)[-1].text.startswith(second)
        assert app.store is not None and app.session is not None
        stored = app.store.get_message(app.session.ids[-1])
        assert stored.content == _blocks(app)[-1].text and stored.status == "complete"
