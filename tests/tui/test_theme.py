"""The theme chosen in the command palette is saved in the settings and applied on start."""

from __future__ import annotations

from support import wait_until
from tui.chat_support import scripted_app

from app.home import Home
from app.settings import Settings, load_settings, save_settings


async def test_theme_picked_in_the_palette_persists_across_restarts(lw_home: Home) -> None:
    save_settings(lw_home, Settings(user_name="Ann"))
    app = scripted_app(lw_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.session is not None)
        assert app.theme == "textual-dark"
        await pilot.press("ctrl+p", *"theme")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause(0.3)
        await pilot.press(*"nord")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_until(pilot, lambda: load_settings(lw_home).theme == "nord")
        assert app.theme == "nord"
        assert load_settings(lw_home).user_name == "Ann"

    again = scripted_app(lw_home)
    async with again.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: again.session is not None)
        assert again.theme == "nord"
        # the app's own settings copy knows the theme, so its next save keeps it
        assert again.settings.theme == "nord"


async def test_an_unknown_saved_theme_is_a_warning_not_a_crash(lw_home: Home) -> None:
    save_settings(lw_home, Settings(theme="no-such-theme"))
    app = scripted_app(lw_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.session is not None)
        assert app.theme == "textual-dark"
        assert any("no-such-theme" in note.message for note in app._notifications)
        app.theme = "gruvbox"
        await wait_until(pilot, lambda: load_settings(lw_home).theme == "gruvbox")


async def test_a_theme_change_never_overwrites_a_broken_settings_file(lw_home: Home) -> None:
    lw_home.settings_file.write_text("n_ctx: [oops\n", encoding="utf-8")
    app = scripted_app(lw_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.3)
        app.theme = "gruvbox"
        await wait_until(
            pilot, lambda: any("theme not saved" in n.message for n in app._notifications)
        )
    assert lw_home.settings_file.read_text(encoding="utf-8") == "n_ctx: [oops\n"
