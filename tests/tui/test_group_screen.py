"""The group scene screen with a scripted engine: pick a cast, see who answers and override it,
watch a line stream in, stop it with Esc, retake, swipe, edit, delete and branch lines with
the one-to-one chat's keys, typing and resizing in between."""

from __future__ import annotations

import pytest
from support import wait_until
from textual.pilot import Pilot
from textual.widgets import Input, Label, Select, SelectionList, TextArea
from tui.chat_support import scripted_app
from tui.fake_engine import FakeEngine

from app.home import Home
from app.memory.store import ChatStore
from app.tui.app import LoreweaverApp
from app.tui.screens.group import GroupScreen
from app.tui.widgets.chat_log import ChatMessage
from app.tui.widgets.live_reply import LiveReply


def _lines(app: LoreweaverApp) -> list[str]:
    return [f"{b.shown.speaker}: {b.shown.text}" for b in app.screen.query(ChatMessage)]


def _blocks(app: LoreweaverApp) -> list[ChatMessage]:
    return list(app.screen.query(ChatMessage))


async def _start(app: LoreweaverApp, pilot: Pilot[None], cast: tuple[str, ...]) -> GroupScreen:
    """Open the screen (unless open), pick the cast, Tab from the scene text to the start
    button, press it."""
    if not isinstance(app.screen, GroupScreen):
        await wait_until(pilot, lambda: app.engine is not None)
        await pilot.press("ctrl+g")
        await wait_until(pilot, lambda: isinstance(app.screen, GroupScreen))
    screen = app.screen
    assert isinstance(screen, GroupScreen)
    for ref in cast:
        screen.query_one("#cast", SelectionList).select(ref)
    screen.query_one("#scene-text").focus()
    await pilot.press(*"A tavern", "tab", "enter")
    await pilot.pause()
    return screen


@pytest.mark.asyncio
async def test_pick_a_cast_see_and_override_the_speaker(lw_home: Home) -> None:
    engine = FakeEngine(replies=[["Aye, the road is clear."], ["Two riders."], ["Hm."]])
    app = scripted_app(lw_home, engine=engine)
    async with app.run_test(size=(100, 32)) as pilot:
        screen = await _start(app, pilot, ("brenna",))  # one character: refused
        assert "2 to 8" in str(screen.query_one("#pick-error", Label).render())
        screen = await _start(app, pilot, ("kestrel", "old_tam"))
        assert screen.scene is not None, screen.query_one("#pick-error", Label).render()
        await pilot.press(*"Kestrel, anything on the road?")
        assert "Brenna" in str(screen.query_one("#chosen", Label).render())  # nobody named yet
        await pilot.press("enter")
        await wait_until(pilot, lambda: "Kestrel Vane: Aye, the road is clear." in _lines(app))
        # the player overrides the next speaker: Old Tam answers
        screen.query_one("#speaker", Select).value = "old_tam"
        await pilot.pause()
        assert "Old Tam" in str(screen.query_one("#chosen", Label).render())
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: "Old Tam: Two riders." in _lines(app))
        # the override held for one turn: back to the turn order
        assert screen.query_one("#speaker", Select).value == "auto"
    store = ChatStore.open(lw_home)
    [chat] = store.list_chats()
    assert [m.name for m in store.active_path(chat.id)][-2:] == ["Kestrel Vane", "Old Tam"]
    store.close()


@pytest.mark.asyncio
async def test_a_line_streams_stops_on_esc_and_its_takes_are_swiped_edited_and_deleted(
    lw_home: Home,
) -> None:
    slow = [f" word{i}" for i in range(200)]
    engine = FakeEngine(delay=0.02, replies=[["Aye", *slow], ["Second take."], ["Fresh."]])
    app = scripted_app(lw_home, engine=engine)
    async with app.run_test(size=(100, 32)) as pilot:
        screen = await _start(app, pilot, ("brenna", "old_tam"))
        await pilot.press(*"Old Tam, tell me everything.", "enter")
        live = lambda: list(screen.query(LiveReply))  # noqa: E731
        await wait_until(pilot, lambda: bool(live()) and "word3" in live()[0].text)
        await pilot.resize_terminal(80, 24)  # the stream goes on at the new width
        await wait_until(pilot, lambda: bool(live()) and "word6" in live()[0].text)
        await pilot.press(*"so", "tab", "shift+tab")  # typing and moving between widgets
        await pilot.press("escape")  # mid-stream: stops the line, the screen stays
        await wait_until(pilot, lambda: not screen.busy)
        assert isinstance(app.screen, GroupScreen)
        stopped = _blocks(app)[-1]
        assert stopped.shown.speaker == "Old Tam" and stopped.text.startswith("Aye word0")
        assert "word199" not in stopped.text
        box = screen.query_one("#scene-say", Input)
        assert box.value == "so"  # what was typed is still there
        await pilot.press("ctrl+left")  # with text in the box: a word move, not a swipe
        assert _blocks(app)[-1].shown.swipe == (1, 1)
        box.value = ""
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: not screen.busy and _blocks(app)[-1].text == "Second take.")
        assert _blocks(app)[-1].shown.swipe == (2, 2)
        await pilot.press("ctrl+left")
        await wait_until(pilot, lambda: _blocks(app)[-1].shown.swipe == (1, 2))
        assert _blocks(app)[-1].text == stopped.text
        await pilot.press("ctrl+right", "ctrl+right")  # past the last take: a new one
        await wait_until(pilot, lambda: not screen.busy and _blocks(app)[-1].text == "Fresh.")
        assert _blocks(app)[-1].shown.swipe == (3, 3)
        # a focused line: Enter → Edit, as in the chat
        _blocks(app)[-1].focus()
        await pilot.press("enter", *"edit", "enter")
        await wait_until(pilot, lambda: bool(app.screen.query(TextArea)))
        app.screen.query_one(TextArea).text = "Edited."
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: _lines(app)[-1] == "Old Tam: Edited.")
        _blocks(app)[-1].focus()
        await pilot.press("delete", "y")
        await wait_until(pilot, lambda: _lines(app)[-1] != "Old Tam: Edited.")
        assert _lines(app)[-1].startswith("Old Tam:")  # the take last visited beside it
        _blocks(app)[0].focus()
        await pilot.press("enter", *"branch", "enter")
        await wait_until(pilot, lambda: len(_lines(app)) == 1)
        assert screen.scene is not None
        assert _lines(app) == [f"{screen.scene.user}: Old Tam, tell me everything."]
        await pilot.press("escape")  # nothing streaming: Esc leaves
        await wait_until(pilot, lambda: not isinstance(app.screen, GroupScreen))
    store = ChatStore.open(lw_home)
    assert len(store.list_chats()) == 2  # the scene and its branch
    store.close()
