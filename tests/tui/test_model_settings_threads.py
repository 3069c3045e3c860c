"""F2's model settings: llama.cpp's thread settings (Pilot, keys as a person presses them)."""

from __future__ import annotations

from support import wait_until
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Input, Select

from app.settings import Settings
from app.tui.screens.model_settings import ModelSettingsScreen


class _Host(App[None]):
    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings
        self.results: list[Settings | None] = []

    def on_mount(self) -> None:
        self.push_screen(ModelSettingsScreen(self.settings, []), self.results.append)


async def _focus(pilot: Pilot[None], widget_id: str) -> None:
    """Tab until `widget_id` has focus, as a person would (at most once round the form)."""
    for _ in range(30):
        focused = pilot.app.focused
        if focused is not None and focused.id == widget_id:
            return
        await pilot.press("tab")
    raise AssertionError(f"Tab never reached #{widget_id}")


async def test_thread_settings_are_shown_edited_with_keys_and_saved() -> None:
    app = _Host(Settings(n_threads=2, thread_adapt=True))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        assert screen.query_one("#n_threads", Input).value == "2"
        assert screen.query_one("#n_threads_batch", Input).value == ""
        assert screen.query_one("#thread_adapt", Select).value is True
        assert screen.query_one("#thread_wait", Select).value == "library"
        await _focus(pilot, "n_threads")
        await pilot.press("4")  # Tab selects the field's text: typing replaces it
        assert screen.query_one("#n_threads", Input).value == "4"
        await _focus(pilot, "thread_adapt")
        await pilot.press("enter", "down", "enter")  # "no"
        await pilot.pause()
        assert screen.query_one("#thread_adapt", Select).value is False
        await pilot.resize_terminal(72, 24)  # the form scrolls; focus and values stay
        await _focus(pilot, "n_threads_batch")
        await pilot.press("3")
        await _focus(pilot, "thread_wait")
        await pilot.press("enter")  # open the list
        await pilot.press("escape")  # Esc closes the list, not the screen
        await pilot.pause()
        assert isinstance(app.screen, ModelSettingsScreen)
        await pilot.press("enter", "down", "enter")  # open again, pick "sleep"
        await pilot.pause()
        assert screen.query_one("#thread_wait", Select).value == "sleep"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: bool(app.results))
    saved = app.results[0]
    assert saved is not None
    assert (saved.n_threads, saved.n_threads_batch) == (4, 3)
    assert saved.thread_adapt is False and saved.thread_wait == "sleep"


async def test_a_bad_thread_count_is_one_error_and_the_form_stays_open() -> None:
    app = _Host(Settings(n_threads=2))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        for bad, field in (("0", "n_threads"), ("many", "n_threads"), ("-1", "n_threads_batch")):
            box = screen.query_one(f"#{field}", Input)
            await _focus(pilot, field)
            await pilot.press(*bad)
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert isinstance(app.screen, ModelSettingsScreen)
            message = [n.message for n in app._notifications][-1]
            assert field in message, message
            box.value = "2" if field == "n_threads" else ""
        await pilot.press("escape")
        await wait_until(pilot, lambda: bool(app.results))
    assert app.results == [None]
