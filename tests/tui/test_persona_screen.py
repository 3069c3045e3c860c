"""The persona dialog (F3) on its own and in the app (Pilot)."""

from __future__ import annotations

from support import wait_until
from textual.app import App
from textual.widgets import Checkbox, Input, TextArea

from app.home import Home
from app.personas import Personas, add_persona, load_personas, with_default
from app.tui.screens.persona import PersonaChoice, PersonaScreen

SAVED = with_default(
    add_persona(add_persona(Personas(), "Wren", "A courier."), "Sir Bob", "A knight."), "Wren"
)


class _Host(App[None]):
    def __init__(self, personas: Personas) -> None:
        super().__init__()
        self.personas = personas
        self.results: list[PersonaChoice | None] = []

    def on_mount(self) -> None:
        self.push_screen(PersonaScreen(self.personas, "User", "", "brenna"), self.results.append)


async def test_picking_a_saved_persona_fills_the_form_and_uses_it() -> None:
    app = _Host(SAVED)
    async with app.run_test(size=(80, 24)) as pilot:
        app.screen.query_one("#persona-list").focus()
        await pilot.press("down", "enter")
        assert app.screen.query_one("#persona-name", Input).value == "Sir Bob"
        assert app.screen.query_one("#persona-description", TextArea).text == "A knight."
        assert app.focused is app.screen.query_one("#persona-name")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: bool(app.results))
    assert app.results == [PersonaChoice("Sir Bob", "A knight.", SAVED)]


async def test_typing_a_new_persona_and_locking_it_to_the_character() -> None:
    app = _Host(SAVED)
    async with app.run_test(size=(120, 40)) as pilot:
        name = app.screen.query_one("#persona-name", Input)
        name.value = ""
        await pilot.press(*"Ann")
        await pilot.press("tab", *"A baker.")
        app.screen.query_one("#persona-lock", Checkbox).value = True
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: bool(app.results))
    choice = app.results[0]
    assert choice is not None and (choice.name, choice.description) == ("Ann", "A baker.")
    locked = choice.personas.for_character("brenna")
    assert locked is not None and locked.name == "Ann"
    assert choice.personas.default == "Wren"


async def test_an_empty_name_is_refused_and_escape_cancels() -> None:
    app = _Host(SAVED)
    async with app.run_test(size=(80, 24)) as pilot:
        app.screen.query_one("#persona-name", Input).value = "   "
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, PersonaScreen)
        assert [n.message for n in app._notifications] == ["a persona needs a name"]
        app.screen.query_one("#persona-list").focus()
        await pilot.press("ctrl+d")  # forget the highlighted (first) one, unless saved…
        await pilot.press("escape")  # …and Esc drops that too
        await wait_until(pilot, lambda: bool(app.results))
    assert app.results == [None]


async def test_f3_in_the_app_saves_the_default_and_renames_the_user(lw_home: Home) -> None:
    from tui.fake_engine import FakeEngine

    from app.tui.app import LoreweaverApp

    app = LoreweaverApp(lw_home, loader=lambda info, settings: FakeEngine())
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.session is not None)
        await pilot.press("f3")
        await wait_until(pilot, lambda: isinstance(app.screen, PersonaScreen))
        app.screen.query_one("#persona-name", Input).value = "Wren"
        app.screen.query_one("#persona-default", Checkbox).value = True
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.session is not None and app.session.user == "Wren")
    assert load_personas(lw_home).default == "Wren"
