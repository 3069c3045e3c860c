"""Shared by the Pilot tests: the scripted app every TUI test starts, opening a chat, the
composer's text, and the screen as plain text (what a person sees)."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console
from support import wait_until
from textual.pilot import Pilot
from tui.fake_engine import FakeEngine

from app.home import Home
from app.memory.store import ChatStore
from app.tui.app import LoreweaverApp
from app.tui.widgets.chat_log import ChatMessage


def scripted_app(home: Home, *replies: str, engine: FakeEngine | None = None) -> LoreweaverApp:
    engine = engine or FakeEngine(replies=[[text] for text in replies])
    return LoreweaverApp(home, loader=lambda info, settings: engine)


def driven(pilot: Pilot[Any]) -> LoreweaverApp:
    """The app a snapshot's `run_before` drives (snap_compare hands it a plain `Pilot`)."""
    app = pilot.app
    assert isinstance(app, LoreweaverApp)
    return app


def blocks(app: LoreweaverApp) -> list[ChatMessage]:
    return list(app.screen.query(ChatMessage))


def typed(app: LoreweaverApp) -> str:
    """What the message box holds."""
    box = app.screen.query_one("#say")
    return str(getattr(box, "text", getattr(box, "value", "")))


async def open_chat(app: LoreweaverApp, pilot: Pilot[None], character: str = "brenna") -> None:
    await wait_until(pilot, lambda: app.session is not None)
    app.open_character(character)
    await wait_until(pilot, lambda: app.session is not None and app.current_id == character)


async def say(app: LoreweaverApp, pilot: Pilot[None], text: str) -> None:
    """Type `text` into the message box as a person would, and send it; wait for the reply."""
    app.screen.query_one("#say").focus()
    await pilot.press(*text, "enter")
    await wait_until(pilot, lambda: not app.busy and blocks(app)[-1].shown.message_id is not None)


def screen_text(app: LoreweaverApp) -> str:
    """The terminal's text as it is drawn now."""
    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        record=True,
        color_system=None,
        legacy_windows=False,
    )
    console.print(app.screen._compositor.render_update(full=True))
    return console.export_text()


def stored_path(home: Home, chat_id: int) -> list[str]:
    with ChatStore.open(home) as store:
        return [m.content for m in store.active_path(chat_id)]
