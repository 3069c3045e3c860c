"""The group scene screen with a scripted engine: pick a cast, see who answers, override it."""

from __future__ import annotations

import pytest
from support import wait_until
from textual.widgets import Label, RichLog, Select, SelectionList
from tui.chat_support import scripted_app
from tui.fake_engine import FakeEngine

from app.home import Home
from app.memory.store import ChatStore
from app.tui.screens.group import GroupScreen


def _log(app) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(str(line.text) for line in app.screen.query_one("#scene-log", RichLog).lines)


async def _start(screen: GroupScreen, pilot) -> None:  # type: ignore[no-untyped-def]
    """Tab to the start button, as a person would from the scene text, and press it."""
    screen.query_one("#scene-text").focus()
    await pilot.press("tab", "enter")
    await pilot.pause()


@pytest.mark.asyncio
async def test_pick_a_cast_see_and_override_the_speaker(lw_home: Home) -> None:
    engine = FakeEngine(replies=[["Aye, the road is clear."], ["Two riders."], ["Hm."]])
    app = scripted_app(lw_home, engine=engine)
    async with app.run_test(size=(100, 32)) as pilot:
        await wait_until(pilot, lambda: app.engine is not None)
        await pilot.press("ctrl+g")
        await wait_until(pilot, lambda: isinstance(app.screen, GroupScreen))
        screen = app.screen
        assert isinstance(screen, GroupScreen)
        cast = screen.query_one("#cast", SelectionList)
        cast.select("brenna")
        await _start(screen, pilot)  # one character: refused, the picker stays
        assert "2 to 8" in str(screen.query_one("#pick-error", Label).render())
        cast.select("kestrel")
        cast.select("old_tam")
        await pilot.pause()
        assert len(cast.selected) == 3, cast.selected
        await _start(screen, pilot)
        assert screen.scene is not None, screen.query_one("#pick-error", Label).render()
        await pilot.press(*"Kestrel, anything on the road?")
        assert "Brenna" in str(screen.query_one("#chosen", Label).render())  # nobody named yet
        await pilot.press("enter")
        await wait_until(pilot, lambda: "Aye, the road" in _log(app))
        assert "Kestrel Vane: Aye, the road is clear." in _log(app)
        # the player overrides the next speaker: Old Tam answers
        screen.query_one("#speaker", Select).value = "old_tam"
        await pilot.pause()
        assert "Old Tam" in str(screen.query_one("#chosen", Label).render())
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: "Old Tam: Two riders." in _log(app))
        # the override held for one turn: back to the turn order
        assert screen.query_one("#speaker", Select).value == "auto"
    store = ChatStore.open(lw_home)
    [chat] = store.list_chats()
    assert [m.name for m in store.active_path(chat.id)][-2:] == ["Kestrel Vane", "Old Tam"]
    store.close()
