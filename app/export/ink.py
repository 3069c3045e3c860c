"""Ink: an opening divert, a knot per block, `{~a|b}` shuffles for swipes, `* [choice]` options
diverting to their knots, `#id:` tags (emotion and action as tags too)."""

from __future__ import annotations

import re

from app.export.graph import Dialogue, Line, one_line
from app.export.script import START, blocks
from app.export.yarn import hashtag

_SPECIAL = re.compile(r"[\\{}|\[\]#<>/~*+=\-^&!$:]")


def escape(text: str) -> str:
    """A backslash before every character Ink can read as logic, choice, divert, glue, tag,
    comment, gather or sequence type (`{~&…}` would be a shuffle-cycle), so text stays text
    wherever it sits."""
    return _SPECIAL.sub(lambda m: "\\" + m.group(), one_line(text))


def _tags(line: Line) -> str:
    first = line.variants[0]
    tags = [f"#id:{line.id}"]
    tags += [f"#emotion:{hashtag(first.emotion)}"] if first.emotion else []
    tags += [f"#action:{hashtag(first.action)}"] if first.action else []
    return " ".join(tags)


def export(dialogue: Dialogue) -> str:
    out = [f"-> {START}", ""]
    for block in blocks(dialogue):
        out.append(f"=== {block.name} ===")
        for line in block.lines:
            texts = [escape(variant.text) for variant in line.variants]
            spoken = texts[0] if len(texts) == 1 else "{~" + "|".join(texts) + "}"
            out.append(f"{escape(line.speaker)}: {spoken} {_tags(line)}")
        for option in block.options:
            tag = f" #id:{option.line.id}" if option.line is not None else ""
            out.append(f"* [{escape(option.text)}{tag}]")
            out.append(f"    -> {option.target}")
        if not block.options:
            out.append("-> END")
        out.append("")
    return "\n".join(out)
