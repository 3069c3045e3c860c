"""A long chat's log shows its last page of messages and pages older ones in when scrolled to
the top; acting on a paged-in message acts on that message."""

from __future__ import annotations

from support import wait_until
from tui.fake_engine import FakeEngine

from app.bench.big_chat import build_chat
from app.home import Home
from app.memory.store import ChatStore
from app.session import SHOWN_PAGE
from app.tui.app import LoreweaverApp
from app.tui.screens.confirm import ConfirmDialog
from app.tui.widgets.chat_log import ChatLog, ChatMessage


async def test_a_long_chat_shows_a_page_and_pages_in_older_messages(lw_home: Home) -> None:
    with ChatStore.open(lw_home) as store:
        chat_id = build_chat(store, 450, seed=9, character="brenna")
        path = store.active_path(chat_id)
    engine = FakeEngine(replies=[["Fine."]])
    app = LoreweaverApp(lw_home, loader=lambda info, settings: engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.session is not None)
        app.open_character("brenna", chat_id)
        await wait_until(
            pilot,
            lambda: (
                app.session is not None
                and app.session.chat is not None
                and app.session.chat.id == chat_id
            ),
        )
        await wait_until(pilot, lambda: len(app.query(ChatMessage)) == SHOWN_PAGE)
        blocks = list(app.query(ChatMessage))
        assert [b.shown.message_id for b in blocks] == [m.id for m in path[-SHOWN_PAGE:]]
        log = app.query_one(ChatLog)
        await pilot.pause()
        log.scroll_end(animate=False)
        await pilot.pause()
        log.scroll_home(animate=False)
        await wait_until(pilot, lambda: len(app.query(ChatMessage)) == 2 * SHOWN_PAGE)
        blocks = list(app.query(ChatMessage))
        assert [b.shown.message_id for b in blocks] == [m.id for m in path[-2 * SHOWN_PAGE :]]
        assert app.chat.log_offset == len(path) - 2 * SHOWN_PAGE
        # deleting the first block shown deletes that message (and what follows it)
        first = blocks[0]
        first.focus()
        await pilot.press("delete")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_until(
            pilot, lambda: app.session is not None and len(app.session.ids) < len(path)
        )
        assert app.session is not None and app.session.ids == [m.id for m in path[:250]]
