"""A Markdown screenplay for reading and review: a section per block, speakers in bold, swipes as
numbered alternatives, choices linking to their sections."""

from __future__ import annotations

import re

from app.export.graph import Dialogue, one_line
from app.export.script import blocks

_SPECIAL = re.compile(r"[\\`*_{}\[\]()<>#+\-.!|~=:\"'$]")


def escape(text: str) -> str:
    """A backslash before each Markdown punctuation mark: no heading, list, link, HTML, emphasis."""
    return _SPECIAL.sub(lambda m: "\\" + m.group(), one_line(text))


def export(dialogue: Dialogue) -> str:
    out = [f"# {escape(dialogue.title)}", ""]
    for block in blocks(dialogue):
        out += [f'<a id="{block.name}"></a>', f"## {block.name}", ""]
        for line in block.lines:
            who = f"**{escape(line.speaker.upper())}**"
            first = line.variants[0]
            notes = ", ".join(escape(tag) for tag in (first.emotion, first.action) if tag)
            out.append(f"{who}{f' ({notes})' if notes else ''}: {escape(first.text)}  ")
            for number, variant in enumerate(line.variants[1:], start=2):
                out.append(f"> *alternative {number}:* {escape(variant.text)}  ")
            out.append("")
        for option in block.options:
            out.append(f"- *choice:* [{escape(option.text)}](#{option.target})")
        out += ["", "*— end —*", ""] if not block.options else [""]
    return "\n".join(out)
