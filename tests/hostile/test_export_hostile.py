"""Hostile text in dialogue exports: every special sequence of every target format, in generated
shapes (alone, leading, trailing, after a newline, repeated, padded), as NPC lines, swipes, player
options and speaker names. Each export is read back by the format's own parser (inkjs, extwee) or
a strict reader, and must say exactly the same plain text, with no extra jump, option or link.
A chat thousands of messages deep exports without recursion."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from dialogue_readers import (
    expected,
    ink_difference,
    ink_transcripts,
    played,
    read_godot,
    read_renpy,
    read_twee,
    read_yarn,
    without_ended,
)
from dialogue_support import npm_modules, run_node
from hostile.harness import run_limited

from app.export import FORMATS, load_dialogue
from app.export.graph import Dialogue, speaker_id
from app.home import Home
from app.memory.store import ChatStore

SEQUENCES = (
    "<<jump Evil>>", "<<stop>>", "-> END", "->", "<-", "=>", "=><", "[[link]]", "[[a->Evil]]",
    "[[a|Evil]]", "{~a|b}", "{x}", "{{x}}", "#tag", "#line:dup", "[name]", "[if x]", "[ID:dup]",
    "[#tag]", "*", "+", "-", "=", "~", "%", "$x", "$> x", "^", "|", ":", "::", "===", "---",
    '"', "'", "\\", "\\n", "//", "/*", "*/", "<>", "&amp;", "&#91;", "TODO:", "INCLUDE x",
    "VAR x = 1", "menu:", "jump evil", "label evil:", "title: Evil", "\n", "\r\n", "\t",
    "\x1b[31m", "\u202e", "\u2060",
)  # fmt: skip
SHAPES = ("{s}", "{s} text", "text {s}", "text\n{s}", "{s}{s}{s}", "  {s}  ", "{s}\n{s} x")


def cases() -> list[str]:
    return [shape.format(s=seq) for seq, shape in itertools.product(SEQUENCES, SHAPES)]


def build(store: ChatStore) -> tuple[int, int]:
    """A chain of forks: per step an NPC line with two hostile swipes (a hostile speaker), a
    player option that goes on and one that ends. Returns (chat id, cases used)."""
    all_cases = cases()
    chat = store.create_chat("evil", user_name="<<jump Evil>> [x]", title="::Evil [[x]]")
    parent: int | None = None
    names = itertools.cycle(SEQUENCES)
    for at in range(0, len(all_cases) - 3, 4):
        a, b, go, stop = all_cases[at : at + 4]
        name = f"Br{next(names)}enna"
        first = store.add_message(chat.id, "assistant", a, parent_id=parent, name=name)
        store.add_message(chat.id, "assistant", b, parent_id=parent, name=name)
        parent = store.add_message(chat.id, "user", go, parent_id=first.id).id
        store.add_message(chat.id, "user", stop, parent_id=first.id)
    return chat.id, len(all_cases) // 4 * 4


@pytest.fixture
def hostile(lw_home: Home) -> Dialogue:
    with ChatStore.open(lw_home) as store:
        chat, count = build(store)
        print(f"export hostile: {count} hostile lines, {len(FORMATS)} formats")
        return load_dialogue(store, chat)


def test_script_formats_read_back_as_plain_text(hostile: Dialogue) -> None:
    assert read_yarn(FORMATS["yarn"][1](hostile)) == without_ended(
        expected(hostile, speaker=speaker_id)
    )
    assert read_renpy(FORMATS["renpy"][1](hostile)) == expected(hostile)
    assert read_godot(FORMATS["godot"][1](hostile)) == expected(
        hostile, speaker=speaker_id, drop="\u2060"
    )


def test_ink_and_twee_parsers_see_only_the_tree(hostile: Dialogue, tmp_path: Path) -> None:
    tools = npm_modules()
    (tmp_path / "s.ink").write_text(FORMATS["ink"][1](hostile), encoding="utf-8")
    result = run_node("ink_play.cjs", tools, "inkjs", tmp_path / "s.ink")
    assert result["errors"] == []
    assert ink_difference(ink_transcripts(hostile), played(result)) == ""
    (tmp_path / "s.twee").write_text(FORMATS["twee"][1](hostile), encoding="utf-8")
    story = run_node("twee_parse.mjs", tools, "extwee", tmp_path / "s.twee")
    assert read_twee(story) == expected(hostile)


def test_a_very_deep_chat_exports_in_every_format(lw_home: Home, tmp_path: Path) -> None:
    """5,000 messages on one path (deeper than Python's recursion limit), via the real CLI under
    time and memory limits."""
    with ChatStore.open(lw_home) as store:
        chat = store.create_chat("brenna")
        parent = None
        with store.transaction():
            for index in range(5000):
                role = "user" if index % 2 else "assistant"
                parent = store.add_message(chat.id, role, f"line {index}", parent_id=parent).id
    for form in FORMATS:
        outcome = run_limited("export", str(chat.id), "--format", form, "-o", str(tmp_path / form))
        assert outcome.verdict() == "ok", outcome.stderr
        assert "line 4999" in (tmp_path / form).read_text(encoding="utf-8")
