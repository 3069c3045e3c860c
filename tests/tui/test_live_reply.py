"""The streaming reply block and the chat screen's compositor: drawn piece by piece, a reply
looks as if drawn at once, only the lines that changed are repainted, and the cropping
compositor puts on screen exactly what Textual's own does."""

from __future__ import annotations

import random

from rich.console import Console
from rich.text import Text
from textual._compositor import Compositor
from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.geometry import Region
from textual.screen import Screen
from textual.strip import Strip
from textual.widgets import Footer, Header, Static

from app.tui.compositor import CroppingCompositor
from app.tui.widgets.live_reply import LiveReply, styled_reply

REPLY = (
    'Brenna wipes the counter. *She smiles* "Aye, the finest blade I ever made was for a '
    'captain of the watch, folded forty times," she says, "and quenched in the river at '
    'dawn."\n\n*She leans closer.* The hilt was wrapped in shark skin — 日本語 came later — '
    "and the pommel held a stone no bigger than a 🗝️ key.\nThat is the whole of it. "
    + "Extraordinarily long words like pneumonoultramicroscopic fold. "
    * 3
)


class CroppingScreen(Screen[None]):
    def __init__(self) -> None:
        super().__init__()
        self._compositor = CroppingCompositor()


class Host(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.live = LiveReply("Brenna")

    def get_default_screen(self) -> CroppingScreen:
        return CroppingScreen()

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll():
            yield Static("An earlier message.")
            yield self.live
        yield Footer()


def _plain(lines: list[Text]) -> list[tuple[str, list[object]]]:
    return [(line.plain, list(line.spans)) for line in lines]


async def test_a_reply_drawn_piece_by_piece_looks_drawn_at_once() -> None:
    rng = random.Random(7)
    app = Host()
    async with app.run_test(size=(60, 40)) as pilot:
        for trial in range(12):
            text = REPLY[: rng.randrange(len(REPLY) // 2, len(REPLY) + 1)]
            block = LiveReply("Brenna")
            await app.query_one(VerticalScroll).mount(block)
            await pilot.pause()
            at = 0
            while at < len(text):
                step = rng.choice([1, 2, 5, 17])
                block.append(text[at : at + step])
                at += step
                if rng.random() < 0.3:
                    await pilot.pause()
            fresh = LiveReply("Brenna", text)
            await app.query_one(VerticalScroll).mount(fresh)
            await pilot.pause()
            assert block.text == text
            assert _plain(block.lines) == _plain(fresh.lines), f"trial {trial}"
            assert len(block.lines) > 3
            await block.remove()
            await fresh.remove()


async def test_new_words_repaint_only_the_last_lines() -> None:
    painted: list[int] = []

    class Counted(LiveReply):
        def render_line(self, y: int) -> Strip:
            painted.append(y)
            return super().render_line(y)

    class CountingHost(Host):
        def __init__(self) -> None:
            super().__init__()
            self.live = Counted("Brenna")

    app = CountingHost()
    async with app.run_test(size=(60, 40)) as pilot:
        app.live.append(REPLY[:300])
        await pilot.pause()
        lines = len(app.live.lines)
        assert lines >= 6
        painted.clear()
        app.live.append(" more")
        await pilot.pause()
        assert painted, "the new word was not drawn"
        assert max(painted) - min(painted) < 2 and min(painted) >= lines - 2


def test_open_quotes_and_actions_style_the_rest_of_the_paragraph() -> None:
    """What is already drawn keeps its look as the rest arrives."""
    text = 'She says "Aye, *the finest* blade" and *smiles* at me.'
    console = Console()
    whole = styled_reply(text)
    for end in range(1, len(text)):
        part = styled_reply(text[:end])
        for x in range(end - 1):  # the last character may still close a quote or an action
            assert part.get_style_at_offset(console, x) == whole.get_style_at_offset(console, x)


async def test_the_cropping_compositor_draws_what_textual_draws() -> None:
    app = Host()
    async with app.run_test(size=(60, 40)) as pilot:
        app.live.append(REPLY)
        await pilot.pause()
        compositor = app.screen._compositor
        assert isinstance(compositor, CroppingCompositor)
        size = compositor.size
        rng = random.Random(3)
        crops = [app.live.region, app.live.region.translate((0, 2)).intersection(size.region)]
        for _ in range(40):
            x, y = rng.randrange(size.width), rng.randrange(size.height)
            crops.append(
                Region(
                    x,
                    y,
                    rng.randrange(1, size.width - x + 1),
                    rng.randrange(1, size.height - y + 1),
                )
            )
        for crop in crops:
            rows = set(crop.line_range)
            ours = compositor._render_chops(crop, rows.__contains__)
            compositor.__class__ = Compositor  # type: ignore[assignment]  # the original, on purpose
            try:
                theirs = compositor._render_chops(crop, rows.__contains__)
            finally:
                compositor.__class__ = CroppingCompositor
            for y in rows:
                for cut, strip in theirs[y].items():
                    if strip is not None and cut < crop.right and cut + strip.cell_length > crop.x:
                        assert ours[y].get(cut) == strip, (crop, y, cut)
