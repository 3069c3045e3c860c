"""Every export of a sample chat tree and of a hostile one, read back by the format's own parser
(inkjs compiles and plays Ink, extwee parses Twee) or, where none is installable (Yarn Spinner,
Ren'Py and Dialogue Manager parse in C#, Ren'Py and GDScript), by a strict reader of the
format's syntax, plus golden files. The hostile lines must come back as the same plain text, with
no extra jump, option, link or line."""

from __future__ import annotations

import csv
import io
import os
import re
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
from dialogue_support import hostile_chat, run_node, sample_chat

from app.export import FORMATS, load_dialogue
from app.export.graph import Dialogue, one_line, speaker_id
from app.export.strings_csv import COLUMNS
from app.memory.store import ChatStore

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture(params=["sample", "hostile"])
def dialogue(request: pytest.FixtureRequest, store: ChatStore) -> Dialogue:
    chat = sample_chat(store)["chat"] if request.param == "sample" else hostile_chat(store)
    return load_dialogue(store, chat)


def write(dialogue: Dialogue, form: str) -> str:
    return FORMATS[form][1](dialogue)


@pytest.mark.parametrize("form", sorted(FORMATS))
def test_sample_matches_its_golden_file(store: ChatStore, form: str) -> None:
    text = write(load_dialogue(store, sample_chat(store)["chat"]), form)
    golden = GOLDEN / f"sample.{FORMATS[form][0]}"
    if os.environ.get("LOREWEAVER_UPDATE_GOLDEN"):
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")


def test_ink_compiles_and_plays_every_path(
    dialogue: Dialogue, npm_tools: Path, tmp_path: Path
) -> None:
    source = tmp_path / "story.ink"
    source.write_text(write(dialogue, "ink"), encoding="utf-8")
    result = run_node("ink_play.cjs", npm_tools, "inkjs", source)
    assert result["errors"] == [] and result["warnings"] == []
    want = ink_transcripts(dialogue)
    assert len(want) == len(result["paths"]) > 1
    assert ink_difference(want, played(result)) == ""


def test_twee_parses_with_extwee(dialogue: Dialogue, npm_tools: Path, tmp_path: Path) -> None:
    source = tmp_path / "story.twee"
    source.write_text(write(dialogue, "twee"), encoding="utf-8")
    story = run_node("twee_parse.mjs", npm_tools, "extwee", source)
    assert re.fullmatch(r"[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}",
                        story["ifid"])  # fmt: skip
    assert story["start"] == "Start" and story["format"] == "SugarCube"
    assert read_twee(story) == expected(dialogue)


def test_yarn_reads_back_exactly(dialogue: Dialogue) -> None:
    want = without_ended(expected(dialogue, speaker=speaker_id))
    assert read_yarn(write(dialogue, "yarn")) == want


def test_renpy_reads_back_exactly(dialogue: Dialogue) -> None:
    assert read_renpy(write(dialogue, "renpy")) == expected(dialogue)


def test_godot_reads_back_exactly(dialogue: Dialogue) -> None:
    assert read_godot(write(dialogue, "godot")) == expected(dialogue, speaker=speaker_id)


def test_csv_rows_are_the_yarn_lines(dialogue: Dialogue) -> None:
    yarn = write(dialogue, "yarn").split("\n")
    rows = list(csv.reader(io.StringIO(write(dialogue, "csv"))))
    assert tuple(rows[0]) == COLUMNS
    ids = [row[1] for row in rows[1:]]
    assert len(ids) == len(set(ids)) == sum(len(ln.variants) for ln in dialogue.lines())
    for row in rows[1:]:
        assert all(len(cell) == len(cell.strip("\n")) and "\n" not in cell for cell in row)
        number = int(row[5])
        assert yarn[number - 1].split(" #line:")[1].split(" ")[0] == row[1].removeprefix("line:")
        assert row[2].removeprefix("'") in {one_line(v.text) for ln in dialogue.lines()
                                            for v in ln.variants}  # fmt: skip
        assert row[2][:1] not in ("=", "+", "-", "@"), "a spreadsheet would run it as a formula"


def test_markdown_escapes_every_markup_character(dialogue: Dialogue) -> None:
    text = write(dialogue, "markdown")
    for line in dialogue.lines():
        for variant in line.variants:
            plain = one_line(variant.text)
            escaped = re.sub(r"([\\`*_{}\[\]()<>#+\-.!|~=:\"'$])", r"\\\1", plain)
            assert escaped in text
    structure = re.compile(
        r"# .*|## \w+|<a id=\"\w+\"></a>|> \*alternative \d+:\* .*|- \*choice:\* .*"
        r"|\*\*(?:\\.|[^*\\])*\*\*(?: \((?:\\.|[^)\\])*\))?: .*|\*— end —\*"
    )
    for row in text.split("\n"):
        # only the screenplay's own headings, anchors, alternatives and choices start a block
        assert structure.fullmatch(row) or not re.match(r"\s*(?:[-*+>#<]|\d+\.)", row), row
