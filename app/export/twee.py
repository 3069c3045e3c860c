"""Twee 3 (SugarCube 2): StoryTitle, StoryData with a stable IFID, a passage per block, links to
the forks' passages; swipes as `<<print either(…)>>`.

Text is written with every ASCII punctuation mark as an HTML character reference: the story
format renders it as the character, but no link, macro, variable or markup can form from it."""

from __future__ import annotations

import hashlib
import json
import uuid

from app.export.graph import Dialogue, Line, one_line
from app.export.script import START, blocks

_PLAIN = set(" .,?!;")


def escape(text: str) -> str:
    return "".join(
        f"&#{ord(c)};" if c.isascii() and not c.isalnum() and c not in _PLAIN else c
        for c in one_line(text)
    )


def ifid(dialogue: Dialogue) -> str:
    """A version-4-shaped UUID derived from the chat's namespace, so re-exports (and a scene run's
    every run) keep the story's identity."""
    digest = hashlib.sha256(f"loreweaver-chat:{dialogue.namespace}".encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4)).upper()


def _say(line: Line) -> str:
    """`Name: text /* id */` (a SugarCube comment carries the line id)."""
    who = escape(line.speaker)
    if len(line.variants) == 1:
        return f"{who}: {escape(line.text)} /* {line.id} */"
    picks = ",".join(f'"{escape(variant.text)}"' for variant in line.variants)
    return f"{who}: <<print either({picks})>> /* {line.id} */"


def export(dialogue: Dialogue) -> str:
    data = {"ifid": ifid(dialogue), "format": "SugarCube", "format-version": "2.37.3",
            "start": START}  # fmt: skip
    # The title is plain text (no markup), but a line starting with `::` would open a passage.
    out = [":: StoryTitle", one_line(dialogue.title).lstrip(": ") or "Untitled", ""]
    out += [":: StoryData", json.dumps(data, indent=2), ""]
    for block in blocks(dialogue):
        out.append(f":: {block.name}")
        out += [_say(line) for line in block.lines]
        out += [f"[[{escape(option.text)}->{option.target}]]" for option in block.options]
        out.append("")
    return "\n".join(out)
