"""F2's model settings: each model's entry of LoRA adapters (applied under every character),
shown for the model the cursor is on and edited there, every file checked before it is kept
(Pilot, keys as a person presses them)."""

from __future__ import annotations

from pathlib import Path

from support import wait_until
from textual.app import App
from textual.widgets import Input, Label
from tinygguf import write_lora

from app.home import Home
from app.models import ModelInfo, bundled_model_path, read_model_info
from app.settings import Settings
from app.sheets.sheet import AdapterRef
from app.tui.screens.model_settings import ModelSettingsScreen


class _Host(App[None]):
    def __init__(self, settings: Settings, models: list[ModelInfo], home: Home) -> None:
        super().__init__()
        self.settings = settings
        self.models = models
        self.home = home
        self.results: list[Settings | None] = []

    def on_mount(self) -> None:
        screen = ModelSettingsScreen(self.settings, self.models, self.home)
        self.push_screen(screen, self.results.append)


def _shown(app: App[None]) -> str:
    return str(app.screen.query_one("#model-adapters", Label).render())


def _field(app: App[None]) -> str:
    return app.screen.query_one("#adapters", Input).value


async def test_the_highlighted_models_adapters_are_shown_and_edited(lw_home: Home) -> None:
    base = bundled_model_path()
    assert base is not None
    write_lora(lw_home.models / "style.gguf", base)
    write_lora(lw_home.models / "qwen.gguf", base, arch="qwen2")
    bundled = read_model_info(base, "bundled")
    other = ModelInfo(Path("/models/Other-7B.Q4_K_M.gguf"), "Other 7B", "home", 4_000_000_000)
    entry = [AdapterRef(file="voice.gguf", scale=0.5), AdapterRef(file="/loras/style.gguf")]
    app = _Host(Settings(model_adapters={bundled.id: entry}), [bundled, other], lw_home)
    async with app.run_test(size=(100, 30)) as pilot:
        with_entry = f"LoRA on {bundled.id}, under every character: voice.gguf×0.5, style.gguf×1"
        await wait_until(pilot, lambda: _shown(app) == with_entry)
        assert _field(app) == "voice.gguf:0.5, /loras/style.gguf:1"
        await pilot.press("down")  # the next model: none named
        await wait_until(pilot, lambda: _shown(app) == "LoRA on Other-7B.Q4_K_M: none")
        assert _field(app) == ""
        await pilot.resize_terminal(72, 24)
        await pilot.press("up")  # back to the bundled model, then Tab into its field
        for _ in range(3):  # (the form scrolls at this size: it takes a Tab of its own)
            await pilot.press("tab")
            if app.focused is not None and app.focused.id == "adapters":
                break
        assert app.focused is not None and app.focused.id == "adapters"
        await pilot.press("ctrl+u", *"qwen.gguf", "enter")  # another architecture: refused
        await wait_until(
            pilot, lambda: any("an adapter for 'qwen2'" in n.message for n in app._notifications)
        )
        assert _shown(app) == with_entry
        await pilot.press("ctrl+u", *"style.gguf:0.7", "enter")
        await wait_until(pilot, lambda: _shown(app).endswith("every character: style.gguf×0.7"))
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: bool(app.results))
    saved = app.results[0]
    assert saved is not None
    assert saved.model_adapters == {bundled.id: [AdapterRef(file="style.gguf", scale=0.7)]}
