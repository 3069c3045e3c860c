"""A reply cut into speech, action and narration, the way role-play text marks them.

Role-play replies mark "speech" with quotes and *actions* with asterisks, and small models
place them with no regard for Markdown's emphasis rules (`*I grin.*"Then…"And I pay`), so the
screen reads them with its own simple rules instead:

- a quote (`"`, `“`) opens speech until its closing quote or the end of the line;
- a run of asterisks opens an action until the next run or the end of the line;
- either may sit inside the other (`*she says "hi"*` is speech within an action).

Every character is read once, left to right, with no look-ahead: what a character is never
depends on what follows it, so a reply styled while it streams in looks as it will when done.
The marks stay in the text (in the span they open or close): nothing is hidden or added.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

_CLOSING_QUOTE = {'"': '"', "“": "”"}
_ACTION_MARK = "*"


class Kind(enum.Flag):
    """What a run of text is; speech within an action (or the reverse) is both."""

    NARRATION = 0
    ACTION = enum.auto()
    SPEECH = enum.auto()


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: Kind


def reply_spans(text: str) -> list[Span]:
    """`text` cut into maximal runs of one kind, in order, covering it exactly."""
    kinds = _kinds(text)
    spans: list[Span] = []
    start = 0
    for at in range(1, len(text) + 1):
        if at == len(text) or kinds[at] != kinds[start]:
            spans.append(Span(start, at, kinds[start]))
            start = at
    return spans


def _kinds(text: str) -> list[Kind]:
    """The kind of each character (a mark belongs to the span it opens or closes)."""
    kinds: list[Kind] = []
    open_marks: list[str] = []  # innermost last: the action mark, or the quote that closes
    for at, char in enumerate(text):
        if char == "\n":
            open_marks.clear()
            kinds.append(Kind.NARRATION)
        elif char == _ACTION_MARK and at and text[at - 1] == _ACTION_MARK:
            kinds.append(kinds[-1])  # a run of asterisks is one mark
        elif char in open_marks:
            kinds.append(_kind(open_marks))  # closes it and whatever opened inside it
            del open_marks[open_marks.index(char) :]
        elif char == _ACTION_MARK or char in _CLOSING_QUOTE:
            open_marks.append(_CLOSING_QUOTE.get(char, char))
            kinds.append(_kind(open_marks))
        else:
            kinds.append(_kind(open_marks))
    return kinds


def _kind(open_marks: list[str]) -> Kind:
    kind = Kind.NARRATION
    for mark in open_marks:
        kind |= Kind.ACTION if mark == _ACTION_MARK else Kind.SPEECH
    return kind
