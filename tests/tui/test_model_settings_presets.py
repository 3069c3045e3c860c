"""F2's model settings: saving a sampler preset by name and editing stop strings (Pilot)."""

from __future__ import annotations

from support import wait_until
from textual.app import App
from textual.widgets import Input, Select

from app.settings import SamplingSettings, Settings
from app.tui.screens.model_settings import ModelSettingsScreen


class _Host(App[None]):
    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings
        self.results: list[Settings | None] = []

    def on_mount(self) -> None:
        self.push_screen(ModelSettingsScreen(self.settings, []), self.results.append)


async def test_a_preset_saved_here_is_offered_and_kept_with_the_settings() -> None:
    app = _Host(Settings(presets={"old": SamplingSettings(temperature=1.5)}))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert ("old", "old") in [
            (str(a), str(b)) for a, b in screen.query_one("#preset", Select)._options
        ]
        screen.query_one("#s-temperature", Input).value = "0.25"
        box = screen.query_one("#save-preset", Input)
        box.focus()
        await pilot.press(*"cool", "enter")
        await pilot.pause()
        assert box.value == ""
        screen.query_one("#stops", Input).value = "### | END "
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: bool(app.results))
    saved = app.results[0]
    assert saved is not None
    assert saved.presets["cool"].temperature == 0.25 and "old" in saved.presets
    assert saved.stop == ["###", "END"]


async def test_a_bad_preset_name_or_value_is_one_error_and_nothing_is_kept() -> None:
    app = _Host(Settings())
    async with app.run_test(size=(80, 24)) as pilot:
        box = app.screen.query_one("#save-preset", Input)
        box.focus()
        await pilot.press(*"greedy", "enter")
        await pilot.pause()
        app.screen.query_one("#s-temperature", Input).value = "hot"
        box.value = "mine"
        await pilot.press("enter")
        await pilot.pause()
        messages = [n.message for n in app._notifications]
        assert len(messages) == 2 and "built-in" in messages[0] and "temperature" in messages[1]
        await pilot.press("escape")
        await wait_until(pilot, lambda: bool(app.results))
    assert app.results == [None]
