"""A reply cut into speech, action and narration, the way role-play text marks them.

Role-play replies mark "speech" with quotes and *actions* with asterisks, and small models
place them with no regard for Markdown's emphasis rules (`*I grin.*"Then…"And I pay`), so the
screen reads them with its own simple rules instead:

- a quote (`"`, `“`) opens speech until its closing quote or the end of the line;
- a run of asterisks opens an action until the next run or the end of the line;
- either may sit inside the other (`*she says "hi"*` is speech within an action).

The text is read once, left to right, with no look-ahead: what a character is never depends
on what follows it, so a reply styled while it streams in looks as it will when done.
The marks stay in the text (in the span they open or close): nothing is hidden or added.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

_CLOSING_QUOTE = {'"': '"', "“": "”"}
_ACTION_MARK = "*"
_MARKS = re.compile(r'\*+|["“”\n]')
"""Every mark, a run of asterisks as one."""
_ACTION, _SPEECH = 1, 2


class Kind(enum.Flag):
    """What a run of text is; speech within an action (or the reverse) is both."""

    NARRATION = 0
    ACTION = enum.auto()
    SPEECH = enum.auto()


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int
    kind: Kind


_KIND_OF_BITS = {
    0: Kind.NARRATION,
    _ACTION: Kind.ACTION,
    _SPEECH: Kind.SPEECH,
    _ACTION | _SPEECH: Kind.ACTION | Kind.SPEECH,
}


def reply_spans(text: str) -> list[Span]:
    """`text` cut into maximal runs of one kind, in order, covering it exactly.

    Only the marks are visited (a regex finds them), not every character: this runs on the
    growing paragraph of a streaming reply every frame.
    """
    runs: list[list[int]] = []  # [start, end, kind bits], merged as they come

    def add(start: int, end: int, bits: int) -> None:
        if start == end:
            return
        if runs and runs[-1][2] == bits:
            runs[-1][1] = end
        else:
            runs.append([start, end, bits])

    open_marks: list[str] = []  # innermost last: the action mark, or the quote that closes
    bits = 0
    at = 0
    for match in _MARKS.finditer(text):
        start, end = match.span()
        add(at, start, bits)
        mark = text[start]
        if mark == "\n":
            open_marks.clear()
            bits = 0
        elif mark in open_marks:  # closes it and whatever opened inside it
            del open_marks[open_marks.index(mark) :]
        elif mark == _ACTION_MARK or mark in _CLOSING_QUOTE:
            open_marks.append(_CLOSING_QUOTE.get(mark, mark))
            bits = _bits(open_marks)  # an opening mark is part of what it opens
        add(start, end, bits)  # a closing mark is part of what it closes
        bits = _bits(open_marks)
        at = end
    add(at, len(text), bits)
    return [Span(start, end, _KIND_OF_BITS[kind]) for start, end, kind in runs]


def _bits(open_marks: list[str]) -> int:
    bits = 0
    for mark in open_marks:
        bits |= _ACTION if mark == _ACTION_MARK else _SPEECH
    return bits
