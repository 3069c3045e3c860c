"""Ren'Py: a `define` per speaker, `label start` and a label per block, say statements (a random
pick among swipes), `menu:` for forks, `jump` and `return`."""

from __future__ import annotations

from app.export.graph import Dialogue, Line, one_line, speaker_id
from app.export.script import START, blocks


def escape(text: str) -> str:
    """A Ren'Py string body: backslash and quote escaped, `[` and `{` doubled (no interpolation
    or text tag), one line."""
    text = one_line(text).replace("\\", "\\\\").replace('"', '\\"')
    return text.replace("[", "[[").replace("{", "{{")


def _label(name: str) -> str:
    return "start" if name == START else name


def _variables(dialogue: Dialogue) -> dict[str, str]:
    """A Ren'Py variable per speaker, unique even when two names clean to the same identifier."""
    out: dict[str, str] = {}
    for name in sorted({line.speaker for line in dialogue.lines()}):
        base = f"c_{speaker_id(name)}"
        taken = set(out.values())
        out[name] = next(
            v for v in (base, *(f"{base}_{n}" for n in range(2, len(out) + 3))) if v not in taken
        )
    return out


def _say(line: Line, who: str) -> list[str]:

    def one(index: int) -> str:
        variant = line.variants[index]
        notes = [f"id {line.variant_id(index)}"]
        notes += [f"emotion {one_line(variant.emotion)}"] if variant.emotion else []
        notes += [f"action {one_line(variant.action)}"] if variant.action else []
        return f'{who} "{escape(variant.text)}"  # {"; ".join(notes)}'

    if len(line.variants) == 1:
        return [f"    {one(0)}"]
    out = [f"    $ swipe_pick = renpy.random.randint(0, {len(line.variants) - 1})"]
    for index in range(len(line.variants)):
        keyword = "if" if index == 0 else "elif"
        out += [f"    {keyword} swipe_pick == {index}:", f"        {one(index)}"]
    return out


def export(dialogue: Dialogue) -> str:
    names = _variables(dialogue)
    out = [f'define {who} = Character("{escape(name)}")' for name, who in names.items()]
    for block in blocks(dialogue):
        out += ["", f"label {_label(block.name)}:"]
        for line in block.lines:
            out += _say(line, names[line.speaker])
        if block.options:
            out.append("    menu:")
            for option in block.options:
                note = f"  # id {option.line.id}" if option.line is not None else ""
                out += [
                    f'        "{escape(option.text)}":{note}',
                    f"            jump {option.target}",
                ]
        else:
            out.append("    return")
    return "\n".join(out).lstrip("\n") + "\n"
