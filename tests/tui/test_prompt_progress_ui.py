"""While a long prompt is evaluated, the reply's place shows how far it has got (tokens
evaluated / total) instead of a bare `…` (issue 13); a scripted engine reports the counts."""

from __future__ import annotations

from support import wait_until
from tui.fake_engine import FakeEngine

from app.home import Home
from app.tui.app import LoreweaverApp
from app.tui.widgets.chat_log import ChatMessage
from app.tui.widgets.live_reply import LiveReply


def _placeholder(app: LoreweaverApp) -> str:
    live = list(app.query(LiveReply))
    return " ".join(line.plain for line in live[0].lines[1:]) if live else ""


async def test_the_live_reply_shows_prompt_progress_then_the_words(lw_home: Home) -> None:
    engine = FakeEngine(replies=[["Aye", ", ready."]], prefill=[512, 1024, 1400], prefill_delay=0.4)
    app = LoreweaverApp(lw_home, loader=lambda info, settings: engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.session is not None)
        app.open_character("brenna")
        await wait_until(pilot, lambda: app.current_id == "brenna")
        await pilot.press(*"Is my sword ready?", "enter")
        await wait_until(pilot, lambda: "512/1400 tokens" in _placeholder(app))
        assert "reading the prompt" in _placeholder(app)
        await wait_until(pilot, lambda: "1024/1400 tokens" in _placeholder(app))
        await wait_until(pilot, lambda: not app.busy and not app.query(LiveReply))
        assert list(app.query(ChatMessage))[-1].text == "Aye, ready."


async def test_progress_shows_at_80_columns_without_breaking_the_block(lw_home: Home) -> None:
    """A narrow terminal wraps the line; pressing Esc mid-evaluation stops the reply."""
    engine = FakeEngine(replies=[["Never shown."]], prefill=[512, 1024, 100_000], prefill_delay=0.5)
    app = LoreweaverApp(lw_home, loader=lambda info, settings: engine)
    async with app.run_test(size=(40, 24)) as pilot:
        await wait_until(pilot, lambda: app.session is not None)
        app.open_character("brenna")
        await wait_until(pilot, lambda: app.current_id == "brenna")
        await pilot.press(*"Hello", "enter")
        await wait_until(pilot, lambda: "512/100000" in _placeholder(app))
        live = app.query_one(LiveReply)
        assert all(line.cell_len <= live.content_size.width for line in live.lines)
        await pilot.press("escape")
        await wait_until(pilot, lambda: not app.busy)
        assert all("Never shown." not in block.text for block in app.query(ChatMessage))
