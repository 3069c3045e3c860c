"""The dialogue graph cut into named blocks (knots, nodes, labels, passages, titles), the shape
every script format shares, so each exporter only decides how to write a block.

A block runs down a chain of lines until a fork. At a fork each child is an option: a player line
is the option's own text (said by choosing it) and its block continues after it; an NPC line (two
speakers or two swipe continuations going different ways) is offered by its speaker's words and its
block starts with it. A chain that simply ends is the story's end.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from app.export.graph import Dialogue, Line

START = "Start"


@dataclass(frozen=True)
class Option:
    text: str
    target: str
    line: Line | None
    """The player line this option says (its id is the option's line id); None for an NPC fork,
    whose text is only a label."""


@dataclass(frozen=True)
class Block:
    name: str
    lines: tuple[Line, ...]
    options: tuple[Option, ...] = ()
    """Empty: the dialogue ends after the block's lines."""


def blocks(dialogue: Dialogue, label_chars: int = 60) -> list[Block]:
    """Every block, the start first, then in the order they are first offered."""
    out: list[Block] = []
    pending: deque[tuple[str, tuple[Line, ...]]] = deque([(START, dialogue.roots)])
    while pending:
        name, heads = pending.popleft()
        chain: list[Line] = []
        if len(heads) == 1:
            line = heads[0]
            chain.append(line)
            while len(line.children) == 1:
                line = line.children[0]
                chain.append(line)
            heads = line.children
        options: list[Option] = []
        for head in heads if len(heads) > 1 else ():
            if head.is_player:
                options.append(Option(head.text, head.id, head))
                pending.append((head.id, head.children))
            else:
                label = " ".join(head.text.split())
                label = label if len(label) <= label_chars else label[: label_chars - 1] + "…"
                options.append(Option(f"{head.speaker}: {label}", head.id, None))
                pending.append((head.id, (head,)))
        out.append(Block(name, tuple(chain), tuple(options)))
    return out
