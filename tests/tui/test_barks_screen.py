"""The Barks screen (F9) in the app, as a person uses it: generate a set, keep one, reject one,
regenerate one, with typing, Tab, a resize and an Esc while it works. The engine is scripted;
the set is read back from the file it is saved in."""

from __future__ import annotations

import yaml
from support import wait_until
from textual.widgets import Input, ListView
from tui.chat_support import open_chat
from tui.fake_engine import FakeEngine

from app.home import Home
from app.tui.app import LoreweaverApp
from app.tui.screens.barks import BarksScreen

LINES = [
    "Shut the door, you're letting the heat out.",
    "Coin first, then talk.",
    "Shut the door, you're letting the heat out!",  # a near duplicate: skipped
    "Cheap steel breaks cheap.",
    "Forge is hot, mind your sleeves.",
    "Back again? Good steel holds.",
]


def _stored(home: Home) -> list[dict[str, object]]:
    path = home.characters / "barks" / "brenna.yaml"
    return list(yaml.safe_load(path.read_text(encoding="utf-8"))["barks"])


async def test_generate_keep_reject_and_regenerate_one(lw_home: Home) -> None:
    engine = FakeEngine(replies=[[line] for line in LINES], delay=0.3)
    app = LoreweaverApp(lw_home, loader=lambda info, settings: engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_chat(app, pilot)
        await pilot.press("f9")
        await wait_until(pilot, lambda: isinstance(app.screen, BarksScreen))
        assert isinstance(app.screen, BarksScreen)
        screen: BarksScreen = app.screen
        trigger = screen.query_one("#bark-trigger", Input)
        trigger.focus()
        await pilot.press("ctrl+a", "ctrl+k", *"the gate is stormed")
        await pilot.press("tab", "ctrl+a", "ctrl+k", "3", "tab", "tab", *"7")
        await pilot.press("enter")  # Enter in a field generates
        await pilot.press("escape")  # Esc while it works: the screen stays
        assert app.screen is screen
        await wait_until(pilot, lambda: not screen.busy and len(screen.barks) == 3)
        assert [b.text for b in screen.barks] == [LINES[0], LINES[1], LINES[3]]
        assert [b.seed for b in screen.barks] == [7, 8, 10]
        assert {b.trigger for b in screen.barks} == {"the gate is stormed"}
        assert [b["text"] for b in _stored(lw_home)] == [b.text for b in screen.barks]

        await pilot.resize_terminal(80, 24)
        listed = screen.query_one("#bark-list", ListView)
        listed.focus()
        await pilot.press("home", "k")  # keep the first
        await pilot.press("down", "x")  # reject the second
        await wait_until(pilot, lambda: len(screen.barks) == 2)
        assert [b["status"] for b in _stored(lw_home)] == ["kept", "new"]
        await pilot.press("end", "r")  # regenerate the last one
        await wait_until(pilot, lambda: not screen.busy and screen.barks[1].text == LINES[4])
        stored = _stored(lw_home)
        assert [b["text"] for b in stored] == [LINES[0], LINES[4]]
        assert stored[1]["seed"] == 11  # the next seed after the highest used
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, BarksScreen))
