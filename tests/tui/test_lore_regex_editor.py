"""#13 defect 7: an invalid regex lorebook key is an error in the editor (not `✓ valid`) and is
named in the lore test; fixing it clears the error. Real keys typed through Pilot."""

from __future__ import annotations

from support import wait_until
from textual.widgets import Input
from tui.editor_support import box, open_editor, settle, write_aria
from tui.fake_engine import FakeEngine

from app.home import Home
from app.tui.app import LoreweaverApp
from app.tui.widgets.lore_editor import LoreEditor


async def test_an_invalid_regex_key_is_an_error_and_named_in_the_lore_test(lw_home: Home) -> None:
    write_aria(lw_home)
    app = LoreweaverApp(lw_home, loader=lambda info, settings: FakeEngine())
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await open_editor(app, pilot, "aria")
        problem = screen.query_one("#editor-problem")
        await settle(pilot, screen)
        assert str(problem.render()) == "✓ valid"

        await pilot.press("ctrl+n")  # a new entry; the keys box has focus
        await pilot.pause()
        await pilot.press(*"/([a-/")
        await pilot.press("tab")  # on to the next box, as a person does
        await settle(pilot, screen)
        assert str(problem.render()) != "✓ valid"
        assert "'/([a-/'" in str(problem.render()) and "invalid regex" in str(problem.render())
        keys_box = box(screen, "entry.keys")
        assert keys_box.error is not None and "'/([a-/'" in keys_box.error
        assert "entry 3" in str(screen.query_one("#lore-message").render())

        await pilot.resize_terminal(80, 24)
        await pilot.press("ctrl+t")
        await pilot.pause()
        await pilot.press(*"a dragon")
        result = screen.query_one("#lore-test-result")

        def shown() -> list[str]:
            return str(result.render()).splitlines()

        await wait_until(pilot, lambda: any(line.startswith("✗ 3.") for line in shown()))
        bad = next(line for line in shown() if line.startswith("✗ 3."))
        assert "'/([a-/'" in bad and "invalid regex" in bad
        assert any(line.startswith("✓ 1. Dragon") for line in shown())  # the chat goes on

        screen.query_one(LoreEditor).select(2)
        await pilot.pause()
        screen.query_one("#lore-keys").focus()
        await pilot.press("end", "left", "backspace", "backspace", *"a-z]+)", "escape")
        await settle(pilot, screen)
        assert str(problem.render()) == "✓ valid", str(problem.render())
        assert box(screen, "entry.keys").error is None
        screen.query_one("#lore-test", Input).value = "abc"
        # the key now matches; the new entry is only held back for having no content yet
        await wait_until(
            pilot,
            lambda: any(line.startswith("✗ 3.") and "empty content" in line for line in shown()),
        )
