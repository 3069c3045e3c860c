"""Snapshots of the character editor at 80×24 and 120×40: the sheet's first tab, the lorebook,
the lore test box with an answer, and the unsaved-changes question.

The scripted engine counts the tokens, and each picture is taken once every count is exact, so
nothing on screen depends on timing. Regenerate after an intended change with
`pytest tests/tui/test_snapshots_editor.py --snapshot-update`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from support import SnapCompare, wait_until
from textual.pilot import Pilot
from textual.widgets import Input, TabbedContent, TextArea
from tui.chat_support import scripted_app
from tui.editor_support import open_editor, settle, write_aria

from app.home import Home
from app.tui.app import LoreweaverApp
from app.tui.screens.editor import EditorScreen
from app.tui.screens.unsaved import UnsavedScreen
from app.tui.widgets.field_box import FieldBox

SIZES = [(80, 24), (120, 40)]


def _app(home: Home) -> LoreweaverApp:
    write_aria(home)
    return scripted_app(home)


def _editor(
    *keys: str,
    then: Callable[[EditorScreen], bool] | None = None,
) -> Callable[[Pilot[None]], Awaitable[None]]:
    async def run_before(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert isinstance(app, LoreweaverApp)
        await wait_until(pilot, lambda: app.engine is not None)
        screen = await open_editor(app, pilot, "aria")
        await settle(pilot, screen)
        await wait_until(
            pilot,
            lambda: all(
                not box.tokens.startswith("~") for box in screen.query(FieldBox) if box.counted
            ),
        )
        for control in (*screen.query(Input), *screen.query(TextArea)):
            control.cursor_blink = False  # a blink phase is no change
        await pilot.press(*keys)
        await settle(pilot, screen)
        if then is not None:
            await wait_until(pilot, lambda: then(screen))
        await pilot.pause(0.2)

    return run_before


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_editor(snap_compare: SnapCompare, lw_home: Home, size: tuple[int, int]) -> None:
    assert snap_compare(_app(lw_home), terminal_size=size, run_before=_editor())


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_editor_lorebook(snap_compare: SnapCompare, lw_home: Home, size: tuple[int, int]) -> None:
    def shown(screen: EditorScreen) -> bool:
        return screen.query_one("#editor-tabs", TabbedContent).active == "tab-lorebook"

    async def run_before(pilot: Pilot[None]) -> None:
        await _editor(then=lambda screen: True)(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, EditorScreen)
        screen.query_one("#editor-tabs", TabbedContent).active = "tab-lorebook"
        await wait_until(pilot, lambda: shown(screen))
        screen.query_one("#lore-entries").focus()
        await pilot.pause(0.2)

    assert snap_compare(_app(lw_home), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_editor_lore_test(snap_compare: SnapCompare, lw_home: Home, size: tuple[int, int]) -> None:
    def answered(screen: EditorScreen) -> bool:
        return str(screen.query_one("#lore-test-result").render()).startswith("1 of 2")

    run_before = _editor("ctrl+t", *"A storm is coming", then=answered)
    assert snap_compare(_app(lw_home), terminal_size=size, run_before=run_before)


def test_editor_unsaved_question(snap_compare: SnapCompare, lw_home: Home) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await _editor("end", *" the Bold")(pilot)
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, UnsavedScreen))
        await pilot.pause(0.2)

    assert snap_compare(_app(lw_home), run_before=run_before)
