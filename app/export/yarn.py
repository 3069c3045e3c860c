"""Yarn Spinner 3: a node per block, `=>` line groups for swipes, `->` options with `<<jump>>`,
`#line:` ids (the strings-table CSV is made from the same walk, so its line numbers match)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.export.graph import Dialogue, Line, one_line, speaker_id
from app.export.script import START, blocks

_SPECIAL = re.compile(r"[\\{}<>\[\]#/:]")


def escape(text: str) -> str:
    """Backslash before every character Yarn reads as markup, command, tag or comment; with the
    text on one line after a speaker, no option, group, jump or node end can start."""
    return _SPECIAL.sub(lambda m: "\\" + m.group(), one_line(text))


def hashtag(value: str) -> str:
    return re.sub(r"[^\w.-]+", "_", value)


@dataclass(frozen=True)
class StringRow:
    """One localisable line, as Yarn's strings table describes it."""

    id: str
    text: str
    node: str
    line_number: int
    speaker: str
    emotion: str
    comment: str


def _tags(line: Line, index: int) -> str:
    variant = line.variants[index]
    tags = [f"#line:{line.variant_id(index)}"]
    tags += [f"#emotion:{hashtag(variant.emotion)}"] if variant.emotion else []
    tags += [f"#action:{hashtag(variant.action)}"] if variant.action else []
    return " ".join(tags)


def render(dialogue: Dialogue) -> tuple[str, list[StringRow]]:
    out: list[str] = []
    rows: list[StringRow] = []

    def say(prefix: str, line: Line, index: int, node: str, option: str | None = None) -> None:
        """One localisable line; an option's text (`option`) is said without a speaker."""
        variant = line.variants[index]
        who = f"{speaker_id(line.speaker)}: " if option is None else ""
        text = variant.text if option is None else option
        out.append(f"{prefix}{who}{escape(text)} {_tags(line, index)}")
        comment = f"action: {variant.action}" if variant.action else ""
        rows.append(
            StringRow(line.variant_id(index), one_line(text), node, len(out),
                      line.speaker, variant.emotion or "", comment)
        )  # fmt: skip

    every = blocks(dialogue)
    # A player line nobody answered: its option jumps nowhere and no empty node is written (some
    # Yarn parsers refuse a node without a body; after an option with no jump the dialogue ends).
    ended = {block.name for block in every if not block.lines and not block.options}
    for block in every:
        if block.name in ended and block.name != START:
            continue
        out += [f"title: {block.name}", "---"]
        grouped = False
        for line in block.lines:
            if len(line.variants) == 1:
                say("", line, 0, block.name)
            else:
                if grouped:  # consecutive `=>` lines are one group: a statement splits them
                    out.append("<<wait 0>>")
                for index in range(len(line.variants)):
                    say("=> ", line, index, block.name)
            grouped = len(line.variants) > 1
        for option in block.options:
            if option.line is not None:
                say("-> ", option.line, 0, block.name, option.text)
            else:
                out.append(f"-> {escape(option.text)}")
            if option.target not in ended:
                out.append(f"    <<jump {option.target}>>")
        out.append("===")
    return "\n".join(out) + "\n", rows


def export(dialogue: Dialogue) -> str:
    return render(dialogue)[0]
