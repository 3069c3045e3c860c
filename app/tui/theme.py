"""The Textual theme follows Settings.theme: applied on start, saved whenever the user changes it.

Saving re-reads the settings file and changes only `theme`, so a theme switch never overwrites
settings edited elsewhere since start, and never rewrites a settings file that fails to load.
The app's own copy of the settings is updated too, so its next save keeps the new theme.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.theme import Theme

from app.errors import LoreweaverError
from app.home import Home
from app.settings import load_settings, save_settings

if TYPE_CHECKING:
    from app.tui.app import LoreweaverApp


def save_theme(where: Home, name: str) -> None:
    settings = load_settings(where)
    if settings.theme != name:
        save_settings(where, settings.model_copy(update={"theme": name}))


def follow_theme(app: LoreweaverApp) -> None:
    """Apply the saved theme (an unknown one is reported, not fatal), then save each change."""
    saved = app.settings.theme
    if saved in app.available_themes:
        app.theme = saved
    else:
        app.notify(f"settings: unknown theme {saved!r}, using {app.theme!r}", severity="warning")

    def changed(theme: Theme) -> None:
        if theme.name == app.settings.theme:
            return
        try:
            save_theme(app.where, theme.name)
        except LoreweaverError as exc:
            app.notify(f"theme not saved: {exc}", severity="error")
            return
        app.settings = app.settings.model_copy(update={"theme": theme.name})

    app.theme_changed_signal.subscribe(app, changed)
