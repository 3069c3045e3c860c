"""Snapshots of a shared world book in its editor (the sample Harrowford book, opened from
Brenna's sheet) at 80×24 and 120×40."""

from __future__ import annotations

import pytest
from support import SnapCompare, wait_until
from textual.pilot import Pilot
from tui.chat_support import driven
from tui.editor_support import open_editor
from tui.fake_engine import FakeEngine

from app.home import Home
from app.tui.app import LoreweaverApp
from app.tui.screens.world_book import WorldBookScreen
from app.tui.widgets.lore_editor import LoreEditor

SIZES = [(80, 24), (120, 40)]


async def _world_book(pilot: Pilot[None]) -> None:
    app = driven(pilot)
    editor = await open_editor(app, pilot, "brenna")
    await wait_until(pilot, lambda: bool(editor.world_ids))
    editor.open_world_book("harrowford")
    await wait_until(
        pilot,
        lambda: isinstance(app.screen, WorldBookScreen) and bool(app.screen.query(LoreEditor)),
    )
    await pilot.pause()
    await pilot.press("down")  # the second entry, with keys
    await pilot.pause(0.3)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_world_book_editor(snap_compare: SnapCompare, lw_home: Home, size: tuple[int, int]) -> None:
    app = LoreweaverApp(lw_home, loader=lambda info, settings: FakeEngine())
    assert snap_compare(app, terminal_size=size, run_before=_world_book)
