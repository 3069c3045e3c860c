"""A background summary that fails is shown: the controller tells the screen, the status bar
keeps a note and a toast says why. The summary fails every time: the scripted engine writes it
empty, which the summariser refuses."""

from __future__ import annotations

from collections.abc import Callable

from support import wait_until
from textual.widgets import Static
from tui.chat_support import open_chat, say, scripted_app
from tui.fake_engine import FakeEngine

from app.home import Home
from app.memory.store import ChatStore
from app.models import resolve_model
from app.session import ChatSession
from app.settings import Settings
from app.tui.app import LoreweaverApp
from app.tui.chat_events import BackgroundFailed, ChatEventKind
from app.tui.controller import ChatController


def _summarise_all(session: ChatSession | None) -> None:
    """Hand the chat's stored turns to its summariser, as an evicting window would."""
    assert session is not None and session.summariser is not None and session.chat is not None
    session.summariser.submit(session.chat.id, list(session.ids))


def test_the_controller_tells_the_screen_and_the_status_keeps_a_note(lw_home: Home) -> None:
    events: list[ChatEventKind] = []
    store = ChatStore.open(lw_home)

    def inline(work: Callable[[], object], group: str) -> None:
        work()

    chat = ChatController(lw_home, store, Settings(), emit=events.append, background=inline)
    try:
        chat.use_engine(FakeEngine(replies=[["Aye."], []]), resolve_model(lw_home, None))
        chat.open("brenna")
        chat.send("Hello.")
        chat.finished()
        assert "summary failed" not in chat.status(120)
        session = chat.session
        _summarise_all(session)
        assert session is not None and session.summariser is not None
        assert session.summariser.wait(30)
        failed = [e for e in events if isinstance(e, BackgroundFailed)]
        assert len(failed) == 1 and "empty summary" in failed[0].error
        assert "⚠ summary failed" in chat.status(120)
        chat.open("brenna", new=True)  # another chat: its own status
        assert "summary failed" not in chat.status(120)
    finally:
        chat.close()
        store.close()


def _status(app: LoreweaverApp) -> str:
    return str(app.screen.query_one("#status", Static).render())


async def test_the_status_bar_and_a_toast_show_a_failed_summary(lw_home: Home) -> None:
    app = scripted_app(lw_home, engine=FakeEngine(replies=[["Aye."], []]))
    async with app.run_test(size=(120, 40)) as pilot:
        await open_chat(app, pilot)
        await say(app, pilot, "Hello.")
        assert "summary failed" not in _status(app)
        await pilot.press(*"Still th")  # half a line typed when the failure arrives
        _summarise_all(app.session)
        await wait_until(pilot, lambda: "⚠ summary failed" in _status(app))
        toasts = [n.message for n in app._notifications]
        assert any("empty summary" in str(m) for m in toasts), toasts
        await pilot.resize_terminal(80, 30)
        await pilot.pause()
        assert "⚠ summary failed" in _status(app)  # the narrow bar keeps it
