"""Snapshots of the library, its dialogs and the help screen at 80×24 and 120×40.

Chat times are pinned (and shown in UTC) so the pictures do not change with the clock.
Regenerate after an intended change with
`pytest tests/tui/test_snapshots_library.py --snapshot-update`.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterator

import pytest
from support import SnapCompare, wait_until
from textual.pilot import Pilot
from tui.chat_support import scripted_app

from app.home import Home
from app.tui.app import LoreweaverApp
from app.tui.screens.confirm import ConfirmDialog
from app.tui.screens.help import HelpScreen
from app.tui.screens.library import LibraryScreen

SIZES = [(80, 24), (120, 40)]
PINNED = 1_767_225_600.0  # 2026-01-01 00:00 UTC


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _open_library(home: Home, *keys: str) -> Callable[[Pilot[None]], Awaitable[None]]:
    async def run_before(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert isinstance(app, LoreweaverApp)
        await wait_until(pilot, lambda: app.session is not None)
        with sqlite3.connect(home.database) as conn:
            conn.execute("UPDATE chats SET created_at = ?, updated_at = ?", (PINNED, PINNED))
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: isinstance(app.screen, LibraryScreen) and app.screen.loaded)
        await pilot.press(*keys)
        await pilot.pause(0.2)

    return run_before


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_library(snap_compare: SnapCompare, lw_home: Home, size: tuple[int, int]) -> None:
    (lw_home.characters / "mira.yaml").write_text(
        "name: Mira\ntags: [healer, fantasy]\ndescription: '{{char}} mends bones.'\n",
        encoding="utf-8",
    )
    assert snap_compare(
        scripted_app(lw_home), terminal_size=size, run_before=_open_library(lw_home)
    )


def test_library_filtered(snap_compare: SnapCompare, lw_home: Home) -> None:
    keys = ("slash", *"smith", "enter")
    assert snap_compare(scripted_app(lw_home), run_before=_open_library(lw_home, *keys))


def test_library_no_match(snap_compare: SnapCompare, lw_home: Home) -> None:
    keys = ("slash", *"dragon", "enter")
    assert snap_compare(scripted_app(lw_home), run_before=_open_library(lw_home, *keys))


def test_delete_confirm(snap_compare: SnapCompare, lw_home: Home) -> None:
    (lw_home.characters / "mira.yaml").write_text("name: Mira\n", encoding="utf-8")

    async def run_before(pilot: Pilot[None]) -> None:
        await _open_library(lw_home, "slash", *"mira", "enter", "delete")(pilot)
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ConfirmDialog))

    assert snap_compare(scripted_app(lw_home), run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_help_on_library(snap_compare: SnapCompare, lw_home: Home, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await _open_library(lw_home, "f1")(pilot)
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, HelpScreen))

    assert snap_compare(scripted_app(lw_home), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_new_character_name(
    snap_compare: SnapCompare, lw_home: Home, size: tuple[int, int]
) -> None:
    before = _open_library(lw_home, "a", *"Mira Quill")
    assert snap_compare(scripted_app(lw_home), terminal_size=size, run_before=before)
