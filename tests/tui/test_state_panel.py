"""The state and trust panel on its own and in the app (Pilot)."""

from __future__ import annotations

from support import wait_until
from textual.app import App
from textual.widgets import Input, Switch
from tui.fake_engine import FakeEngine

from app.home import Home
from app.memory.chat_state import state_entries
from app.sheets.sheet import Sheet
from app.tui.screens.state_panel import StatePanel

SHEET = Sheet.model_validate(
    {
        "name": "Orla",
        "state": [
            {"name": "gold", "type": "int", "default": 5, "min": 0, "max": 100},
            {"name": "angry", "type": "bool"},
        ],
        "relationships": [{"name": "{{user}}", "trust": 10}],
    }
)


class _Host(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.results: list[dict[str, str] | None] = []

    def on_mount(self) -> None:
        self.push_screen(StatePanel(state_entries(SHEET, {}, user="Ann")), self.results.append)


async def test_only_changed_values_come_back() -> None:
    app = _Host()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.click("#state-1")  # the switch
        trust = app.screen.query_one("#state-2", Input)
        trust.focus()
        await pilot.press("ctrl+a", "ctrl+k", *"-40")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: bool(app.results))
    assert app.results == [{"angry": "true", "trust:Ann": "-40"}]


async def test_an_out_of_range_value_is_one_error_and_the_panel_stays() -> None:
    app = _Host()
    async with app.run_test(size=(120, 40)) as pilot:
        app.screen.query_one("#state-0", Input).value = "101"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, StatePanel) and not app.results
        messages = [n.message for n in app._notifications]
        assert messages == ["gold must be between 0 and 100, got 101"]
        await pilot.resize_terminal(80, 24)
        await pilot.press("escape")
        await wait_until(pilot, lambda: bool(app.results))
    assert app.results == [None]


async def test_f7_in_the_app_changes_the_chat_state(lw_home: Home) -> None:
    from app.tui.app import LoreweaverApp

    engine = FakeEngine()
    app = LoreweaverApp(lw_home, loader=lambda info, settings: engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.session is not None)
        await pilot.press("f7")
        await wait_until(pilot, lambda: isinstance(app.screen, StatePanel))
        assert app.session is not None
        keys = [e.key for e in app.session.state()]  # the first character: the Ash Widow
        assert isinstance(
            app.screen.query_one(f"#state-{keys.index('prisoners_released')}"), Switch
        )
        app.screen.query_one(f"#state-{keys.index('respect')}", Input).value = "3"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: not isinstance(app.screen, StatePanel))
        assert {e.key: e.value for e in app.session.state()}["respect"] == 3
        await pilot.press(*"Hi", "enter")
        await wait_until(pilot, lambda: app.reply is None and not engine.prompts.empty())
        assert "respect = 3" in engine.prompts.get_nowait()
