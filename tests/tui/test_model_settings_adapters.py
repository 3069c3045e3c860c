"""F2's model settings: each model's entry of LoRA adapters (applied under every character) is
shown for the model the cursor is on (Pilot, keys as a person presses them)."""

from __future__ import annotations

from pathlib import Path

from support import wait_until
from textual.app import App
from textual.widgets import Label

from app.models import ModelInfo, bundled_model_path, read_model_info
from app.settings import Settings
from app.sheets.sheet import AdapterRef
from app.tui.screens.model_settings import ModelSettingsScreen


class _Host(App[None]):
    def __init__(self, settings: Settings, models: list[ModelInfo]) -> None:
        super().__init__()
        self.settings = settings
        self.models = models
        self.results: list[Settings | None] = []

    def on_mount(self) -> None:
        self.push_screen(ModelSettingsScreen(self.settings, self.models), self.results.append)


def _shown(app: App[None]) -> str:
    return str(app.screen.query_one("#model-adapters", Label).render())


async def test_the_highlighted_models_adapters_are_shown() -> None:
    bundled = read_model_info(bundled_model_path(), "bundled")  # type: ignore[arg-type]
    other = ModelInfo(Path("/models/Other-7B.Q4_K_M.gguf"), "Other 7B", "home", 4_000_000_000)
    entry = [AdapterRef(file="voice.gguf", scale=0.5), AdapterRef(file="/loras/style.gguf")]
    app = _Host(Settings(model_adapters={bundled.id: entry}), [bundled, other])
    async with app.run_test(size=(100, 30)) as pilot:
        with_entry = f"LoRA on {bundled.id}, under every character: voice.gguf×0.5, style.gguf×1"
        await wait_until(pilot, lambda: _shown(app) == with_entry)
        await pilot.press("down")  # the next model: none named
        await wait_until(pilot, lambda: "LoRA on Other-7B.Q4_K_M: none" in _shown(app))
        await pilot.resize_terminal(72, 24)
        await pilot.press("up")
        await wait_until(pilot, lambda: _shown(app) == with_entry)
        await pilot.press("escape")
        await wait_until(pilot, lambda: bool(app.results))
    assert app.results == [None]
