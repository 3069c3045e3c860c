"""Shared by the editor's Pilot and snapshot tests: a user sheet with a lorebook, and helpers."""

from __future__ import annotations

from support import wait_until
from textual.pilot import Pilot
from textual.widgets import Input, TextArea

from app.home import Home
from app.tui.app import LoreweaverApp
from app.tui.screens.editor import EditorScreen
from app.tui.widgets.field_box import FieldBox

ARIA_YAML = """\
name: Aria Vell
description: A cartographer who has walked every road of the Ashen Pass twice.
first_message: Mind the map, it's still wet.
goals:
  - Finish the map of the pass before winter.
character_book:
  name: Aria's notes
  entries:
    - name: Dragon
      keys: [dragon, wyrm]
      content: An old dragon sleeps under the pass; its breath warms the north road.
    - name: Weather
      keys: [storm]
      content: Storms close the pass from the first snow until spring.
      insertion_order: 50
"""


def write_aria(home: Home) -> None:
    (home.characters / "aria.yaml").write_text(ARIA_YAML, encoding="utf-8")


async def open_editor(app: LoreweaverApp, pilot: Pilot[None], character: str) -> EditorScreen:
    """Show `character` in the chat screen, then press F5 as a user would."""
    await wait_until(pilot, lambda: app.current_id is not None)
    if app.current_id != character:
        app.open_character(character)
    await pilot.pause()
    await pilot.press("f5")
    await wait_until(pilot, lambda: isinstance(app.screen, EditorScreen))
    screen = app.screen
    assert isinstance(screen, EditorScreen)
    return screen


def box(screen: EditorScreen, field: str) -> FieldBox:
    return next(b for b in screen.query(FieldBox) if b.field == field)


def line(screen: EditorScreen, field: str) -> Input:
    """The one-line input of `field` (a test typing into it knows which kind of field it is)."""
    control = box(screen, field).control
    assert isinstance(control, Input), f"{field} is not a one-line field"
    return control


def area(screen: EditorScreen, field: str) -> TextArea:
    """The multi-line text area of `field`."""
    control = box(screen, field).control
    assert isinstance(control, TextArea), f"{field} is not a multi-line field"
    return control


async def settle(pilot: Pilot[None], screen: EditorScreen) -> None:
    """Wait for the debounced check (validation, counts) to have run on the latest edit."""
    await pilot.pause()
    await wait_until(pilot, lambda: not screen.check_pending, timeout=10)
    await pilot.pause()
