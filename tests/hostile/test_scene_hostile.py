"""Hostile scene scripts: every field of a valid scene given values of the wrong shape (types ×
sizes × places), plus scripts whose every field is well formed but whose meaning is broken
(unknown cast ids and state variables, jumps to missing labels or backwards, a tree too big).

Each case is checked in-process (`check_scene`: one line naming the file and the field's path,
no model needed), then all of them go through the real CLI in one batch: one line, exit ≠ 0,
the same message, and no chat stored. Per-class counts are printed for the report.
"""

from __future__ import annotations

import copy
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from hostile.harness import assert_clean_failure, run_batch

from app.errors import LoreweaverError
from app.home import Home
from app.memory.store import ChatStore
from app.scenes import check_scene

BASE: dict[str, Any] = {
    "title": "Base",
    "cast": ["brenna", "hobb"],
    "state": {"paid": False, "coins": 3},
    "sampling": {"max_tokens": 10},
    "beats": [
        {"player": "Hello."},
        {"npc": "brenna", "rules": {"max_chars": 100}},
        {
            "choices": [
                {"text": "Pay.", "beats": [{"set": {"paid": True}}]},
                {"text": "Leave.", "end": True},
            ]
        },  # fmt: skip
        {"label": "after", "npc": "any", "when": "paid"},
        {"say": "Bye.", "speaker": "hobb"},
    ],
}

TEXT = [5, 2.5, True, [], {}, "", " ", "x" * 5000, ["a"], {"a": "b"}]
COUNT = ["many", -1, 0, 10**9, 1.5, [], {}, "", True]
NUMBER = ["hot", -3, 10**9, [], {}]
LIST = ["brenna", 5, {}, [[]], [{}], [""], [5], ["x" * 5000]]
SHAPES: dict[
    tuple[Any, ...], list[Any]
] = {  # path → the wrong values it is given (all invalid for that field)
    ("title",): TEXT,
    ("id",): [5, [], "", "Has Spaces", "../x", "x" * 200, "UPPER"],
    ("cast",): [*LIST, [], ["brenna"] * 2, [f"c{n}" for n in range(9)]],
    ("seed",): ["many", -1, 1.5, [], True, 2**40],
    ("alternatives",): COUNT,
    ("retries",): [v for v in COUNT if v != 0],
    ("sampling", "max_tokens"): COUNT,
    ("sampling", "temperature"): NUMBER,
    ("order",): ["random", 5, []],
    ("state",): [[], "x", {"bad name": 1}, {"x": []}, {"x": {}}],
    ("beats",): [[], "x", {}, [5], [[]], [{}]],
    ("beats", 0): [5, "x", [], {}, {"player": "a", "npc": "brenna"}, {"bogus": 1}],
    ("beats", 0, "player"): TEXT,
    ("beats", 1, "npc"): [5, [], "", "two words"],
    ("beats", 1, "rules", "max_chars"): COUNT,
    ("beats", 1, "rules", "must_mention"): [5, "x", [[]], [""], ["w"] * 40],
    ("beats", 1, "alternatives"): COUNT,
    ("beats", 2, "choices"): [[], "x", {}, [5], [{}], [{"text": "a"}] * 9],
    ("beats", 2, "choices", 1): [5, "x", {}, {"text": "a", "goto": "after", "end": True}],
    ("beats", 2, "choices", 1, "text"): TEXT,
    ("beats", 2, "choices", 0, "beats", 0): [5, {}, {"set": {}}, {"set": []}],
    ("beats", 3, "label"): [5, "", "with space", "1abc"],
    ("beats", 3, "when"): [5, [], "x" * 600],
    ("beats", 4, "speaker"): [5, [], ""],
}

MEANING: dict[tuple[Any, ...], list[Any]] = {  # path → well-formed values whose meaning is wrong
    ("cast", 1): ["nobody", "../brenna"],
    ("beats", 1, "npc"): ["nobody", "old_tam"],
    ("beats", 4, "speaker"): ["nobody"],
    ("beats", 3, "when"): [
        "unknown",
        "coins > many",
        "paid > 1",
        "coins ==",
        "brenna.nope",
        "not coins",
        "paid and",
        "hobb.name_in_ledger >= 2",
    ],
    ("beats", 2, "choices", 0, "beats", 0, "set"): [
        {"nope": 1},
        {"paid": 5},
        {"brenna.x": 1},
        {"coins": "many"},
    ],
    ("beats", 2, "choices", 0, "goto"): ["missing", "Nope"],
    ("beats", 2, "choices", 0, "when"): ["missing == 1"],
    ("beats", 4, "label"): ["after"],
    ("lore",): [["no_such_book"]],
}


def _with(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    place: Any = data
    for part in path[:-1]:
        place = place[part]
    place[path[-1]] = value
    return data


def _special() -> list[tuple[str, str, dict[str, Any]]]:
    """Backward jumps (loops) at several places, and trees too big to store."""
    out = []
    for at in (0, 1, 3):  # a goto back to a label at `at`, from the end
        data = copy.deepcopy(BASE)
        data["beats"][at]["label"] = f"back{at}"
        data["beats"].append({"goto": f"back{at}"})
        out.append(("loop", "beats[5].goto", data))
    for width, depth in ((8, 3), (6, 4)):
        beats: list[dict[str, Any]] = [{"npc": "brenna", "alternatives": 8}]
        for _ in range(depth):
            beats = [{"choices": [{"text": f"c{n}", "beats": copy.deepcopy(beats)}
                                  for n in range(width)]}]  # fmt: skip
        out.append(("size", "beats", {**BASE, "beats": beats}))
    return out


def _where(path: tuple[Any, ...]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _cases() -> list[tuple[str, str, dict[str, Any]]]:
    cases = [("shape", _where(p), _with(p, v)) for p, vs in SHAPES.items() for v in vs]
    cases += [("meaning", _where(p), _with(p, v)) for p, vs in MEANING.items() for v in vs]
    return cases + _special()


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, str, Path]]:
    folder = tmp_path_factory.mktemp("scenes")
    out = []
    for number, (kind, where, data) in enumerate(_cases()):
        path = folder / f"case{number}.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        out.append((kind, where, path))
    return out


def _refusal(home: Home, path: Path) -> str:
    with pytest.raises(LoreweaverError) as caught:
        check_scene(home, path)
    return str(caught.value)


def test_bad_scripts_are_refused_naming_file_and_place(
    lw_home: Home, written: list[tuple[str, str, Path]]
) -> None:
    counts: Counter[str] = Counter()
    for kind, where, path in written:
        message = _refusal(lw_home, path)
        assert "\n" not in message and message.startswith(f"{path}: "), message
        head = where.split("[")[0] if kind == "size" else where.rsplit(".", 1)[0].split("[")[0]
        assert head in message, (where, message)
        counts[kind] += 1
    print(f"scene scripts refused in-process: {dict(counts)}")
    assert counts["shape"] > 150 and counts["meaning"] >= 20


def test_bad_scripts_on_the_cli_are_one_line_and_store_nothing(
    lw_home: Home, written: list[tuple[str, str, Path]], tmp_path: Path
) -> None:
    cases: list[tuple[list[str], dict[str, str]]] = [
        (["run", str(path), "-o", str(tmp_path / "out")], {}) for _, _, path in written
    ]
    outcomes = run_batch(cases)
    for (_, _, path), outcome in zip(written, outcomes, strict=True):
        line = assert_clean_failure(outcome)
        assert line == f"loreweaver: error: {_refusal(lw_home, path)}", line
    print(f"scene scripts refused on the CLI: {len(outcomes)}")
    assert not (tmp_path / "out").exists()
    with ChatStore.open(lw_home) as store:
        assert store.list_chats() == []
