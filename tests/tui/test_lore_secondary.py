"""Secondary keys count only for a selective entry: typing them ticks Selective, and an entry
whose Selective is off says its secondary keys are ignored (issue 13, defect 8)."""

from __future__ import annotations

from textual.widgets import Checkbox, TextArea
from tui.editor_support import box, open_editor, settle, write_aria
from tui.fake_engine import FakeEngine

from app.home import Home
from app.sheets import library
from app.tui.app import LoreweaverApp


async def test_typing_secondary_keys_ticks_selective_and_unticking_says_they_are_ignored(
    lw_home: Home,
) -> None:
    write_aria(lw_home)
    app = LoreweaverApp(lw_home, loader=lambda info, settings: FakeEngine())
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await open_editor(app, pilot, "aria")
        await pilot.press("ctrl+n")  # a new entry; the cursor is in its keys box
        await pilot.press(*"ashen pass")
        await pilot.press("tab", "tab", "tab", "tab")  # Enabled, Constant, Selective, secondary
        assert app.focused is screen.query_one("#lore-secondary", TextArea)
        selective = screen.query_one("#lore-selective", Checkbox)
        assert not selective.value
        await pilot.press(*"winter")
        await pilot.pause()
        assert selective.value, "secondary keys typed, Selective left off: they would be ignored"
        label = str(box(screen, "entry.secondary_keys").query_one(".field-label").render())
        assert "ignored" not in label

        await pilot.press("shift+tab", "space")  # the designer unticks it on purpose
        await pilot.pause()
        assert not selective.value
        label = str(box(screen, "entry.secondary_keys").query_one(".field-label").render())
        assert "ignored: Selective is off" in label
        await pilot.press("tab", *" storm")  # more keys: the choice is kept
        await settle(pilot, screen)
        assert not selective.value
        await pilot.press("ctrl+s")
        await pilot.pause()
    book = library.load_sheet(lw_home.characters / "aria.yaml").character_book
    assert book is not None
    new = book.entries[-1]
    assert new.secondary_keys == ["winter storm"] and not new.selective
