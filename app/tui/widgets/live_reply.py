"""A reply while it streams in, drawn line by line.

On two cores every millisecond the UI thread spends is taken from the model. Redrawing a whole
reply each frame (wrap every line, repaint the block) costs far more than the new words do:
here finished paragraphs are wrapped once, the growing one is re-wrapped, and only the lines
that changed are repainted. When the reply is done the log redraws it as a `ChatMessage`.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget

from app.reply_spans import Kind, reply_spans
from app.text import safe_line, safe_text
from app.tui.widgets.steady import steady_virtual_size

GROWTH_LINES = 4
"""Spare lines kept below the text: one layout of the screen per that many new lines."""

_LOOKS = {
    Kind.NARRATION: Style(),
    Kind.ACTION: Style(italic=True),
    Kind.SPEECH: Style(bold=True),
    Kind.ACTION | Kind.SPEECH: Style(italic=True, bold=True),
}


def styled_reply(text: str, style: Style | str = "") -> Text:
    """`*actions*` in italics and "speech" in bold, as `reply_spans` reads them (not Markdown).

    An open quote or asterisk styles the rest of the line until it closes, so text already
    drawn never changes style when more arrives (only the last lines need repainting).
    """
    shown = Text(text, style=style)
    for span in reply_spans(text):
        if span.kind:
            shown.stylize(_LOOKS[span.kind], span.start, span.end)
    return shown


class LiveReply(Widget):
    """The speaker's name, then the reply so far (its look matches `ChatMessage`'s)."""

    DEFAULT_CSS = """
    LiveReply {
        height: auto;
        margin: 1 0 0 0;
    }
    """

    virtual_size = steady_virtual_size()

    def __init__(self, speaker: str, text: str = "") -> None:
        super().__init__(classes="theirs")
        self.speaker = speaker
        self._text = text
        self._settled: list[Text] = []
        """The name line and the lines of the finished paragraphs."""
        self._settled_upto = 0
        """Where the growing paragraph starts in the text."""
        self._growing: list[Text] = []
        self._strips: dict[int, Strip] = {}
        self._width = 0
        self._style = Style()
        self._room = 0
        """Content lines the last layout gave this block."""
        self._waiting = "…"
        """What stands in for the reply until its first words come."""

    @property
    def text(self) -> str:
        return self._text

    @property
    def lines(self) -> list[Text]:
        return self._settled + self._growing

    def append(self, piece: str) -> None:
        """Add text; repaint the lines it changed, and lay the screen out only when the block
        outgrows its spare lines."""
        if not piece:
            return
        self._text += piece
        if not self._width:
            return  # wrapped in full once the block has a size
        settled = len(self._settled)  # lines above the growing paragraph cannot change
        before = self._growing
        self._wrap_growing()
        after = self.lines[settled:]
        changed = next(
            (y for y, (old, new) in enumerate(zip(before, after, strict=False)) if old != new),
            min(len(before), len(after)),
        )
        first, end = settled + changed, settled + max(len(before), len(after))
        for y in range(first, end):
            self._strips.pop(y, None)
        if settled + len(after) > self._room:
            self.refresh(layout=True)
        elif first < end:
            self.refresh(Region(0, first, self._width, end - first))

    def show_progress(self, evaluated: int, total: int) -> None:
        """While the prompt is evaluated (before any words): how far it has got."""
        self._waiting = f"… reading the prompt: {evaluated}/{total} tokens"
        if self._width and not self._text:
            self._wrap_growing()
            self._strips.clear()
            self.refresh(layout=len(self.lines) > self._room)

    def _rewrap(self, width: int, style: Style) -> None:
        self._width, self._style = width, style
        self._settled = [Text(safe_line(self.speaker), style=style + Style(bold=True))]
        self._settled_upto = 0
        self._strips.clear()
        self._wrap_growing()

    def _wrap_growing(self) -> None:
        """Wrap the paragraphs finished since the last call for good, then the growing one."""
        end = self._text.rfind("\n")
        if end >= self._settled_upto:
            for paragraph in self._text[self._settled_upto : end].split("\n"):
                self._settled += self._wrap(paragraph)
            self._settled_upto = end + 1
        growing = self._text[self._settled_upto :]
        if not self._text:
            waiting = Text(self._waiting, style=self._style + Style(dim=True))
            self._growing = list(waiting.wrap(self.app.console, self._width, overflow="fold"))
        else:
            self._growing = self._wrap(growing)

    def _wrap(self, paragraph: str) -> list[Text]:
        if not paragraph:
            return [Text("", style=self._style)]
        styled = styled_reply(safe_text(paragraph), self._style)  # rewrapped whole: a
        # sequence split across pieces is removed once its end arrives
        return list(styled.wrap(self.app.console, self._width, overflow="fold"))

    def _ensure_wrapped(self, width: int) -> None:
        style = self.rich_style
        if width != self._width or style != self._style:
            self._rewrap(width, style)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        self._ensure_wrapped(width)
        self._room = len(self.lines) + GROWTH_LINES
        return self._room

    def render_line(self, y: int) -> Strip:
        width = self.content_size.width
        self._ensure_wrapped(width)
        strip = self._strips.get(y)
        if strip is None:
            lines = self.lines
            if y < len(lines):
                segments = lines[y].render(self.app.console)
                strip = Strip(Segment.apply_style(segments, self._style))  # no unstyled segments:
                strip = strip.crop_extend(0, width, self._style)  # Textual's filters need a style
            else:
                strip = Strip.blank(width, self._style)
            self._strips[y] = strip
        return strip
