"""Snapshots of a new character's blank sheet in the editor at 80×24 and 120×40 (the name
question over the library is in test_snapshots_library)."""

from __future__ import annotations

import pytest
from support import SnapCompare, wait_until
from textual.pilot import Pilot
from textual.widgets import Input, TextArea
from tui.chat_support import driven, scripted_app
from tui.editor_support import settle

from app.home import Home
from app.tui.screens.ask import AskDialog
from app.tui.screens.editor import EditorScreen
from app.tui.screens.library import LibraryScreen

SIZES = [(80, 24), (120, 40)]


async def _blank_sheet(pilot: Pilot[None]) -> None:
    app = driven(pilot)
    await wait_until(pilot, lambda: app.session is not None)
    await pilot.press("ctrl+o")
    await wait_until(pilot, lambda: isinstance(app.screen, LibraryScreen) and app.screen.loaded)
    await pilot.press("a")
    await wait_until(pilot, lambda: isinstance(app.screen, AskDialog))
    await pilot.press(*"Mira Quill", "enter")
    await wait_until(pilot, lambda: isinstance(app.screen, EditorScreen))
    assert isinstance(app.screen, EditorScreen)
    await settle(pilot, app.screen)
    for control in (*app.screen.query(Input), *app.screen.query(TextArea)):
        control.cursor_blink = False  # a blink phase is no change
    app.clear_notifications()
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_new_character_blank_sheet(
    snap_compare: SnapCompare, lw_home: Home, size: tuple[int, int]
) -> None:
    assert snap_compare(scripted_app(lw_home), terminal_size=size, run_before=_blank_sheet)
