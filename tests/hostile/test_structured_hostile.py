"""Hostile structured-reply declarations on a sheet (`structured:` and `actions:`).

Generated bad declarations (emotion sets, limits, action names, argument types and JSON Schema
fragments llama.cpp cannot enforce or convert, action effects on undeclared or mistyped state)
go through the real CLI (`chat SHEET --say …`, one child for the lot): each must be one line
naming the character and the field, exit ≠ 0, and leave no chat stored. Valid variants of the
same shapes must still build their prompt, so the refusals are not blanket ones.
"""

from __future__ import annotations

import copy
from collections import Counter
from typing import Any

import yaml
from hostile.harness import assert_clean_failure, run_batch
from npc.npc_sheet import npc_data

from app.home import Home
from app.memory.store import ChatStore

BAD_EMOTIONS: list[Any] = [
    "plutchick",
    "",
    "EKMAN",
    [],
    ["joy", "joy"],
    ['sa"d'],
    ["a\u0001"],
    ["x" * 41],
    ["  "],
    5,
    [["joy"]],
]
BAD_LIMITS: list[tuple[str, Any]] = (
    [("line_max_chars", v) for v in (0, -1, 1001, "long", None, 10**12)]
    + [("trust_step", v) for v in (0, 201, "x")]
    + [("colour", "red"), ("enabled", "perhaps")]
)
BAD_NAMES: list[Any] = ["", "1st", "give item", "give-item", "x" * 65, None, 7, "ünï"]
BAD_ARGS: list[Any] = [
    "integer",
    "string",
    5,
    [],
    {},  # any JSON
    {"type": "object"},  # any object
    {"type": "string"},  # no length limit
    {"type": "string", "format": "email"},  # not enforced by llama.cpp
    {"type": "integer", "minimum": 0},  # not enforced by llama.cpp
    {"type": "foo"},  # llama.cpp cannot convert
    {"not": {"type": "string"}},
    {"$ref": "http://example.com/schema"},
    {"type": "string", "pattern": "^[[[$"},
    {"anyOf": [{"type": "string", "maxLength": 3}, {}]},
    {"type": "array", "items": {"type": "integer"}},  # no maxItems
]
BAD_SETS: list[dict[str, Any]] = [
    {"silver": 3},  # undeclared
    {"gold": "lots"},
    {"gold": 99},  # out of range
    {"gold": True},
    {"gate_open": 1},
    {"alert": "high"},
    {"mood": 3},
]
GOOD_ARGS: list[Any] = [
    "int",
    "bool",
    {"enum": ["sword", "shield"]},
    {"type": "string", "maxLength": 20},
    {"type": "array", "items": {"type": "integer"}, "maxItems": 3},
]


def _cases() -> list[tuple[str, dict[str, Any]]]:
    """(the field the error must name, sheet data) for every bad declaration."""
    cases: list[tuple[str, dict[str, Any]]] = []
    for emotions in BAD_EMOTIONS:
        data = npc_data(emotions=emotions)
        cases.append(("structured.emotions", data))
    for key, value in BAD_LIMITS:
        data = npc_data(**{key: value})
        cases.append((f"structured.{key}", data))
    for name in BAD_NAMES:
        data = npc_data()
        data["actions"][1]["name"] = name
        cases.append(("actions[1].name", data))
    data = npc_data()
    data["actions"].append(copy.deepcopy(data["actions"][0]))
    cases.append(("actions", data))
    for kind in BAD_ARGS:
        data = npc_data()
        data["actions"][2]["args"] = {"target": kind}
        cases.append(("actions[2].args", data))
    for sets in BAD_SETS:
        data = npc_data()
        data["actions"][0]["sets"] = sets
        cases.append((f"actions[0].sets.{next(iter(sets))}", data))
    return cases


def test_bad_declarations_are_one_line_naming_character_and_field(lw_home: Home) -> None:
    folder = lw_home.root / "sheets"
    folder.mkdir()
    cases = _cases()
    runs: list[tuple[list[str], dict[str, str]]] = []
    for i, (_, data) in enumerate(cases):
        path = folder / f"case{i}.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        runs.append((["chat", str(path), "--say", "Open the gate!", "--max-tokens", "4"], {}))
    outcomes = run_batch(runs, timeout=240)
    verdicts: Counter[str] = Counter()
    for (field, _), outcome in zip(cases, outcomes, strict=True):
        line = assert_clean_failure(outcome)
        verdicts[field.split(".")[0].split("[")[0]] += 1
        assert "'Gerd'" in line, line
        assert field.split(".")[0].split("[")[0] in line, line
        assert field in line or field.rsplit(".", 1)[0] in line, (field, line)
    with ChatStore.open(lw_home) as store:
        assert store.list_chats() == []  # nothing stored
    print(f"structured declarations refused: {dict(verdicts)} of {len(cases)} cases")


def test_valid_variants_of_the_same_shapes_still_work(lw_home: Home) -> None:
    folder = lw_home.root / "sheets"
    folder.mkdir()
    runs: list[tuple[list[str], dict[str, str]]] = []
    variants = [npc_data(emotions=e) for e in ("plutchik", ["calm", "wary"])]
    for kind in GOOD_ARGS:
        data = npc_data()
        data["actions"][2]["args"] = {"target": kind}
        variants.append(data)
    quoted = npc_data()  # a name llama-cpp-python would write into the grammar unescaped
    quoted["relationships"].append({"name": 'Tam "the \\ Hammer"\t', "trust": 5})
    variants.append(quoted)
    for i, data in enumerate(variants):
        path = folder / f"good{i}.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        runs.append((["prompt", str(path), "--say", "Open the gate!"], {}))
    for outcome in run_batch(runs, timeout=240, memory=4 * 1024**3):
        assert outcome.verdict() == "ok", outcome.describe()
        assert "Reply only with JSON" in outcome.stdout
