"""Defect 6 of issue 13: a quote touching a letter showed literal `**` (the styling went through
Markdown's emphasis rules), and speech was styled only once the reply was done."""

from __future__ import annotations

from rich.style import Style
from support import wait_until
from textual.geometry import Region
from textual.widget import Widget
from tui.fake_engine import FakeEngine

from app.home import Home
from app.tui.app import LoreweaverApp
from app.tui.widgets.chat_log import ChatMessage
from app.tui.widgets.live_reply import LiveReply

REPLY = '*I grin.*"Then I will take it."And I pay the smith.'


def _screen_lines(widget: Widget) -> list[str]:
    size = widget.content_region.size
    return [strip.text for strip in widget.render_lines(Region(0, 0, size.width, size.height))]


def _style_of(widget: Widget, word: str) -> Style:
    """The style the widget draws `word` in (the first line holding it)."""
    size = widget.content_region.size
    for strip in widget.render_lines(Region(0, 0, size.width, size.height)):
        for segment in strip:
            if word in segment.text:
                return segment.style or Style()
    raise AssertionError(f"{word!r} not drawn")


async def test_a_quote_touching_letters_is_drawn_as_written_while_and_after_streaming(
    lw_home: Home,
) -> None:
    pieces = [REPLY[at : at + 3] for at in range(0, len(REPLY), 3)]
    engine = FakeEngine(replies=[pieces], delay=0.05)
    app = LoreweaverApp(lw_home, loader=lambda info, settings: engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.session is not None)
        app.open_character("brenna")
        await wait_until(pilot, lambda: app.current_id == "brenna")
        await pilot.press(*"I'll take the dagger.", "enter")

        def streaming_past_the_speech() -> bool:
            live = list(app.query(LiveReply))
            return bool(live) and "And" in live[0].text and "smith" not in live[0].text

        await wait_until(pilot, streaming_past_the_speech)
        live = app.query_one(LiveReply)
        assert _style_of(live, "Then").bold, "speech is not styled while the reply streams"
        assert _style_of(live, "grin").italic
        assert not _style_of(live, "And").bold

        await wait_until(pilot, lambda: not app.busy and not app.query(LiveReply))
        await pilot.pause()
        done = list(app.query(ChatMessage))[-1]
        assert done.text == REPLY
        drawn = " ".join(_screen_lines(done))
        assert REPLY in drawn, drawn  # every character as written: no `**` added, none lost
        assert _style_of(done, "Then").bold and not _style_of(done, "And").bold
        assert _style_of(done, "grin").italic
