"""Hostile names and texts on screen: what the terminal receives holds none of their escape
sequences or control characters (the chat log, a reply streaming in, a library card)."""

from __future__ import annotations

import io
import re

from rich.console import Console
from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import ListView

from app.sheets.catalog import Summary
from app.tui.widgets.character_card import CharacterCard
from app.tui.widgets.chat_log import ChatMessage, Shown
from app.tui.widgets.live_reply import LiveReply

PAYLOADS = ("\x1b]0;pwned\x07", "\x1b[2J", "\x9b6n", "\x1b[?1049l", "\x1bP+q\x1b\\", "\x85")
EVIL = "A" + "".join(PAYLOADS) + "\x00\x07Z"
FOREIGN = re.compile(r"\x1b\](?!\S*\x1b\\)|\x1b\[2J|\x1b\[\?1049l|\x1bP|[\x00-\x07\x80-\x9f]")
"""What Textual itself never sends but the payloads would (its own output is SGR colours and
cursor positions only)."""


class Host(App[None]):
    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield ChatMessage(Shown(1, EVIL, EVIL + "\n*acts* " + EVIL, mine=False))
            yield LiveReply(EVIL)
        yield ListView(CharacterCard(Summary(EVIL, EVIL, (EVIL,), EVIL, sample=False)))


def _screen_bytes(app: App[None]) -> str:
    written = io.StringIO()
    out = Console(file=written, force_terminal=True, color_system="truecolor", width=100)
    out.print(app.screen._compositor.render_update(full=True))
    return written.getvalue()


async def test_hostile_text_never_reaches_the_terminal() -> None:
    app = Host()
    async with app.run_test(size=(100, 40)) as pilot:
        live = app.query_one(LiveReply)
        for at in range(0, len(EVIL), 3):  # escape sequences split across pieces
            live.append(EVIL[at : at + 3])
            await pilot.pause()
            assert FOREIGN.search(_screen_bytes(app)) is None
        shown = _screen_bytes(app)
        assert FOREIGN.search(shown) is None
        assert shown.count("Z") >= 5  # the text around the payloads is still there
