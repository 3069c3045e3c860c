"""The app's model picker lists remote models; picking one chats through the real server."""

from __future__ import annotations

from engine.remote.servers import RunningServer
from support import wait_until
from textual.widgets import DataTable

from app.engine.remote.engine import RemoteEngine
from app.home import Home
from app.memory.store import ChatStore
from app.models import add_remote
from app.settings import load_settings
from app.tui.app import LoreweaverApp
from app.tui.screens.model_settings import ModelSettingsScreen
from app.tui.widgets.chat_log import ChatMessage
from app.tui.widgets.composer import Composer


async def test_pick_a_remote_model_and_chat_through_it(
    openai_server: RunningServer, lw_home: Home
) -> None:
    add_remote(lw_home, openai_server.remote("studio"))
    app = LoreweaverApp(lw_home)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.session is not None, timeout=120)
        app.open_character("brenna")
        await wait_until(pilot, lambda: app.current_id == "brenna", timeout=120)
        await pilot.press("f2")
        await wait_until(pilot, lambda: isinstance(app.screen, ModelSettingsScreen))
        table = app.screen.query_one("#models", DataTable)
        table.focus()
        table.move_cursor(row=table.get_row_index("studio"))
        await pilot.press("enter")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.engine, RemoteEngine), timeout=60)
        assert load_settings(lw_home).model == "studio"
        await wait_until(pilot, lambda: app.session is not None and not app.busy, timeout=60)
        box = app.query_one("#say", Composer)
        box.focus()
        box.text = "Hello from the studio."
        await pilot.press("enter")
        blocks = lambda: list(app.query(ChatMessage))  # noqa: E731
        await wait_until(
            pilot,
            lambda: not app.busy and blocks()[-1].shown.message_id is not None,
            timeout=120,
        )
        block = blocks()[-1]
        message_id = block.shown.message_id
        assert message_id is not None
    store = ChatStore.open(lw_home)
    try:
        stored = store.get_message(message_id)
    finally:
        store.close()
    assert stored.role == "assistant" and stored.status == "complete"
    assert stored.content and stored.content == block.text
    assert stored.meta["model"] == "studio"
