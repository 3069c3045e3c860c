"""Snapshots of the chat screen (first run: the welcome), a focused message and its actions,
and the dialogs, at 80×24 and 120×40 (a scripted engine with
scripted timings, so every figure on screen is fixed)."""

from __future__ import annotations

import pytest
from support import SnapCompare, wait_until
from textual.pilot import Pilot
from textual.widgets import Input
from tui.chat_support import driven, scripted_app
from tui.fake_engine import FakeEngine

from app.home import Home
from app.tui.app import LoreweaverApp
from app.tui.widgets.composer import Composer
from app.tui.widgets.side_list import CharacterList

SIZES = [(80, 24), (120, 40)]
REPLY = [
    "*Brenna sets the hammer down and wipes her hands.* ",
    '"A dagger? Three silver for plain steel, ',
    'five if you want it to hold an edge past the first bandit."',
]


def _app(home: Home) -> LoreweaverApp:
    engine = FakeEngine(replies=[REPLY], clock=(0.42, 0.01))
    return scripted_app(home, engine=engine)


async def _chatted(app: LoreweaverApp, pilot: Pilot[None]) -> None:
    await wait_until(pilot, lambda: app.session is not None)
    app.open_character("brenna")
    await wait_until(pilot, lambda: app.current_id == "brenna" and app.session is not None)
    box = app.query_one("#say", Composer)
    box.text = "How much for a dagger?"
    await pilot.press("enter")
    await wait_until(pilot, lambda: not app.busy and app.last_stats != "")
    box.cursor_blink = False  # a blink phase is no change
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_chat_screen(snap_compare: SnapCompare, lw_home: Home, size: tuple[int, int]) -> None:
    assert snap_compare(
        _app(lw_home), terminal_size=size, run_before=lambda pilot: _chatted(driven(pilot), pilot)
    )


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_model_settings_dialog(
    snap_compare: SnapCompare, lw_home: Home, size: tuple[int, int]
) -> None:
    async def before(pilot: Pilot[None]) -> None:
        app = driven(pilot)
        await wait_until(pilot, lambda: app.session is not None)
        await pilot.press("f2")
        await pilot.pause()

    # the thread count defaults to the machine's cores: fixed here so the picture is the same
    # on any machine (and in a test worker held to one CPU)
    lw_home.ensure().settings_file.write_text("n_threads: 2\n", encoding="utf-8")
    assert snap_compare(_app(lw_home), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_welcome(snap_compare: SnapCompare, lw_home: Home, size: tuple[int, int]) -> None:
    async def before(pilot: Pilot[None]) -> None:
        app = driven(pilot)
        screen = app.screen
        await wait_until(
            pilot,
            lambda: (
                app.session is not None
                and screen.query_one("#welcome").display
                and screen.query_one("#characters", CharacterList).index is not None
            ),
        )
        screen.query_one("#say", Composer).cursor_blink = False  # a blink phase is no change
        await pilot.pause(0.2)

    assert snap_compare(_app(lw_home), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_focused_message_and_its_actions(
    snap_compare: SnapCompare, lw_home: Home, size: tuple[int, int]
) -> None:
    async def before(pilot: Pilot[None]) -> None:
        await _chatted(driven(pilot), pilot)
        await pilot.press("shift+tab", "shift+tab", "enter")
        await wait_until(pilot, lambda: pilot.app.screen.id == "message-actions")
        pilot.app.screen.query_one("#actions-filter", Input).cursor_blink = False
        await pilot.pause()

    assert snap_compare(_app(lw_home), terminal_size=size, run_before=before)
