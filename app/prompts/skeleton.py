"""Rendering by shape: a format renders placeholders once per conversation shape, and each turn
fills the real texts into that skeleton.

This is what makes a prompt's segments exact — whatever the format writes around a
placeholder is its own markup, whatever stands in for the placeholder is text (see
`segments`) — and what makes an untrusted chat template cheap: it runs (in a child process,
see `template_worker`) once per shape, not once per turn.

A shape is the roles in order, which messages are empty, and whether the generation prompt is
added. Each message's text becomes a placeholder; rendering a second time with the
placeholders wrapped in whitespace shows whether the format trims the text on either side
(Jinja's `trim`, the families' `.strip()`), which the fill then does to the real text. A format
that does anything else to message text (slices it, escapes it, drops a placeholder in one
render but not the other) has no skeleton: `ShapeError`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app.prompts.messages import Message, Role
from app.prompts.segments import Prompt, Segment

Shape = tuple[tuple[tuple[Role, bool], ...], bool]
"""((role, has text) per message, add_generation_prompt)."""

_OPEN, _CLOSE = "\ue000", "\ue001"  # private-use characters: no format writes them
_HOLE = re.compile(f"{_OPEN}(\\d+){_CLOSE}")
PAD_LEFT, PAD_RIGHT = " \n", "\n "


class ShapeError(Exception):
    """The format treats message text in a way a placeholder cannot stand for."""


@dataclass(frozen=True)
class Hole:
    """Where message `index`'s text goes, and which sides of it the format trims."""

    index: int
    lstrip: bool
    rstrip: bool

    def fill(self, text: str) -> str:
        if self.lstrip:
            text = text.lstrip()
        return text.rstrip() if self.rstrip else text


Skeleton = tuple[str | Hole, ...]


def shape_of(messages: Sequence[Message], add_generation_prompt: bool) -> Shape:
    return tuple((m.role, bool(m.content)) for m in messages), add_generation_prompt


def placeholders(shape: Shape, *, padded: bool) -> list[Message]:
    """Stand-ins for a shape's messages: empty ones stay empty."""
    pad_left, pad_right = (PAD_LEFT, PAD_RIGHT) if padded else ("", "")
    return [
        Message(role, f"{pad_left}{_OPEN}{i}{_CLOSE}{pad_right}" if has_text else "")
        for i, (role, has_text) in enumerate(shape[0])
    ]


def parse(plain: str, padded: str) -> Skeleton:
    """The skeleton from a shape's two renders (plain and padded placeholders)."""
    ours, theirs = _HOLE.split(plain), _HOLE.split(padded)
    if len(ours) != len(theirs) or ours[1::2] != theirs[1::2]:
        raise ShapeError("message text lands in different places when it changes")
    texts, padded_texts = ours[0::2], theirs[0::2]
    if any(_OPEN in t or _CLOSE in t for t in texts):
        raise ShapeError("the format changes message text")
    indices = [int(i) for i in ours[1::2]]
    n = len(indices)
    kept: list[tuple[bool, bool]] = []  # per text: (hole before kept its right pad, after: left)
    for k, text in enumerate(texts):
        options = [
            (before, after)
            for before in ((False, True) if k else (False,))
            for after in ((False, True) if k < n else (False,))
            if padded_texts[k] == (PAD_RIGHT if before else "") + text + (PAD_LEFT if after else "")
        ]
        if len(options) != 1:
            raise ShapeError("the format changes the text around a message")
        kept.append(options[0])
    parts: list[str | Hole] = []
    for k, text in enumerate(texts):
        if text:
            parts.append(text)
        if k < n:
            parts.append(Hole(indices[k], lstrip=not kept[k][1], rstrip=not kept[k + 1][0]))
    return tuple(parts)


def fill(skeleton: Skeleton, messages: Sequence[Message]) -> Prompt:
    """The prompt for `messages` (of the skeleton's shape): markup segments and text segments."""
    return Prompt(
        (
            Segment(part, True)
            if isinstance(part, str)
            else Segment(part.fill(messages[part.index].content), False)
            for part in skeleton
        ),
        messages,
    )


def skeleton_of(shape: Shape, render: Callable[[list[Message], bool], str]) -> Skeleton:
    """A trusted, in-process format's skeleton for `shape`."""
    generation = shape[1]
    return parse(
        render(placeholders(shape, padded=False), generation),
        render(placeholders(shape, padded=True), generation),
    )
