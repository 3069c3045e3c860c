"""Snapshots at 80×24 and 120×40 of what the chat screen shows about the prompt: F4's context
view (its "why" column wraps, never cut off: issue 13, defect 8) and a reply waiting while a
long prompt is evaluated (tokens evaluated / total)."""

from __future__ import annotations

import pytest
from support import SnapCompare, wait_until
from textual.pilot import Pilot
from tui.chat_support import driven, scripted_app
from tui.fake_engine import FakeEngine

from app.home import Home
from app.tui.app import LoreweaverApp
from app.tui.screens.context import ContextScreen, SectionsTable
from app.tui.widgets.composer import Composer
from app.tui.widgets.live_reply import LiveReply

SIZES = [(80, 24), (120, 40)]


def _app(home: Home) -> LoreweaverApp:
    engine = FakeEngine(
        replies=[['*She points north.* "The Drowned Lantern, past the gate."']], clock=(0.42, 0.01)
    )
    return scripted_app(home, engine=engine)


async def _context(pilot: Pilot[None]) -> None:
    app = driven(pilot)
    await wait_until(pilot, lambda: app.session is not None)
    app.open_character("brenna")
    await wait_until(pilot, lambda: app.current_id == "brenna" and app.session is not None)
    app.query_one(
        "#say", Composer
    ).text = "Which tavern in Harrowford serves travellers from the pass?"
    await pilot.press("enter")
    await wait_until(pilot, lambda: not app.busy and app.last_stats != "")
    await pilot.press("f4")
    await wait_until(pilot, lambda: isinstance(app.screen, ContextScreen))
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_context_view(snap_compare: SnapCompare, lw_home: Home, size: tuple[int, int]) -> None:
    assert snap_compare(_app(lw_home), terminal_size=size, run_before=_context)


@pytest.mark.parametrize("size", SIZES)
async def test_every_reason_is_shown_in_full_within_the_table(
    lw_home: Home, size: tuple[int, int]
) -> None:
    app = _app(lw_home)
    async with app.run_test(size=size) as pilot:
        await _context(pilot)
        table = app.screen.query_one(SectionsTable)
        reasons = [line for section in table.assembly.sections for line in section.lines]
        assert any(len(line) > size[0] for line in reasons), "no reason long enough to test"
        assert table.virtual_size.width <= table.scrollable_content_region.width
        drawn = " ".join(
            " ".join(str(table.get_row_at(row)[2]).split()) for row in range(table.row_count)
        )
        for line in reasons:
            assert " ".join(line.split()) in drawn
        await pilot.resize_terminal(size[0] + 30, size[1])  # a person widens the terminal
        await pilot.pause()
        assert table.virtual_size.width <= table.scrollable_content_region.width
        assert table.virtual_size.width > size[0] - 10


async def _reading_the_prompt(pilot: Pilot[None]) -> None:
    app = driven(pilot)
    await wait_until(pilot, lambda: app.session is not None)
    app.open_character("brenna")
    await wait_until(pilot, lambda: app.current_id == "brenna" and app.session is not None)
    app.query_one("#say", Composer).text = "Tell me everything about the Ashen Pass."
    await pilot.press("enter")
    await wait_until(
        pilot,
        lambda: any(
            "512/1400" in line.plain for live in app.query(LiveReply) for line in live.lines
        ),
    )
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_reply_waiting_for_the_prompt(
    snap_compare: SnapCompare, lw_home: Home, size: tuple[int, int]
) -> None:
    """The reply's place while a long prompt is evaluated: tokens evaluated / total."""
    engine = FakeEngine(
        replies=[["Aye."]], clock=(0.42, 0.01), prefill=[512, 1400], prefill_delay=[0.0, 8.0]
    )
    app = LoreweaverApp(lw_home, loader=lambda info, settings: engine)
    assert snap_compare(app, terminal_size=size, run_before=_reading_the_prompt)
