"""The terminal app driven through Pilot: the real model streams a reply; Esc stops one."""

from __future__ import annotations

from support import wait_until
from textual.pilot import Pilot
from tui.fake_engine import FakeEngine

from app.home import Home
from app.settings import SamplingSettings, Settings, save_settings
from app.tui.app import LoreweaverApp
from app.tui.widgets.chat_log import ChatMessage
from app.tui.widgets.composer import Composer


def _messages(app: LoreweaverApp) -> list[ChatMessage]:
    return list(app.query(ChatMessage))


async def _say(app: LoreweaverApp, pilot: Pilot[None], text: str) -> None:
    box = app.query_one("#say", Composer)
    box.focus()
    box.text = text
    await pilot.press("enter")


async def test_real_model_reply_streams_into_the_chat(lw_home: Home) -> None:
    save_settings(lw_home, Settings(sampling=SamplingSettings(max_tokens=24, seed=2)))
    app = LoreweaverApp(lw_home)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.session is not None, timeout=120)
        greeting_count = len(_messages(app))
        await _say(app, pilot, "How much for a sword?")
        await wait_until(
            pilot,
            lambda: app.reply is None and len(_messages(app)) == greeting_count + 2,
            timeout=180,
        )
        reply = _messages(app)[-1]
        assert reply.text.strip()
        assert app.session is not None
        assert [m.role for m in app.session.history] == ["assistant", "user", "assistant"]
        assert app.store is not None and app.session.chat is not None
        stored = app.store.active_path(app.session.chat.id)
        assert [m.role for m in stored] == ["assistant", "user", "assistant"]
        assert stored[-1].status == "complete" and stored[-1].content == reply.text.strip()
        assert "tok/s" in str(app.query_one("#status").render())


async def test_escape_stops_a_streaming_reply(lw_home: Home) -> None:
    engine = FakeEngine(pieces=["word "] * 500, delay=0.01)
    app = LoreweaverApp(lw_home, loader=lambda info, settings: engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.session is not None)
        await _say(app, pilot, "Talk forever.")
        await wait_until(pilot, lambda: bool(app.streaming and app.streaming.text))
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.reply is None, timeout=5)
        words = _messages(app)[-1].text.split()
        assert 0 < len(words) < 500
        assert "cancelled" in str(app.query_one("#status").render())
