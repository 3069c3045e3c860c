"""Godot Dialogue Manager: `~ title` per block, `Name: line [ID:…]`, `%` random lines for swipes,
`- option => target`, `=> END`; emotion and action as `[#tag]`s."""

from __future__ import annotations

from app.export.graph import Dialogue, Line, one_line, speaker_id
from app.export.script import blocks
from app.export.yarn import hashtag

_JOIN = "\u2060"
"""WORD JOINER: invisible; splits `{{` and `=>` so no interpolation or jump can form, and
follows every backslash of the text so it escapes nothing."""


_KEYWORDS = ("using", "if", "elif", "else", "while", "match", "when", "do", "set")
"""Words Dialogue Manager reads as a statement at a line's start (`else`/`elif` even with no
space after them), each escaped there by a backslash it removes."""


def escape(text: str) -> str:
    """BBCode brackets as `[lb]`/`[rb]` (so no tag, condition, `[[random]]` or `[#tag]`);
    `{{`, `=>`, `=<` and a backslash and what follows (`\\n` would become a newline, `\\[` an
    escaped bracket) broken by a word joiner — the text's own joiners, invisible, are dropped, so
    every joiner in the file is one of ours; a colon as `\\:` (DM splits a line's speaker at its
    first `: `, options included)."""
    text = one_line(text).replace(_JOIN, "").replace("\\", "\\" + _JOIN).replace(":", "\\:")
    text = "".join("[lb]" if c == "[" else "[rb]" if c == "]" else c for c in text)
    for pair in ("{{", "}}", "=>", "=<"):
        text = text.replace(pair, pair[0] + _JOIN + pair[1])
    return text


def _line(line: Line, index: int) -> str:
    variant = line.variants[index]
    tags = [f"#emotion={hashtag(variant.emotion)}"] if variant.emotion else []
    tags += [f"#action={hashtag(variant.action)}"] if variant.action else []
    tag_text = f" [{', '.join(tags)}]" if tags else ""
    who = speaker_id(line.speaker)
    who = f"\\{who}" if who.startswith(_KEYWORDS) else who
    spoken = f"{who}: {escape(variant.text)}"
    return f"{spoken}{tag_text} [ID:{line.variant_id(index)}]"


def export(dialogue: Dialogue) -> str:
    out: list[str] = []
    for block in blocks(dialogue):
        out.append(f"~ {block.name}")
        for line in block.lines:
            if len(line.variants) == 1:
                out.append(_line(line, 0))
            else:  # an empty line ends a random group (the next may start one)
                out += [f"% {_line(line, index)}" for index in range(len(line.variants))] + [""]
        for option in block.options:
            key = f" [ID:{option.line.id}]" if option.line is not None else ""
            out.append(f"- {escape(option.text)}{key} => {option.target}")
        if not block.options:
            out.append("=> END")
        out.append("")
    return "\n".join(out)
