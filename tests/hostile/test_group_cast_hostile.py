"""Hostile casts for group scenes: unknown ids of many shapes, duplicates (the same id, another
spelling of the same sheet, its file path), casts too small or too large.

Generated as shapes × positions × sizes. Every cast is tried in-process (`load_cast`: one
`LoreweaverError` naming the member) and through the real CLI in one batch under the harness's
limits: one line, exit ≠ 0, and no chat stored. Per-class counts are printed for the report.
"""

from __future__ import annotations

import itertools
from collections import Counter

import pytest
from hostile.harness import assert_clean_failure, run_batch

from app.errors import LoreweaverError
from app.group import load_cast
from app.home import Home
from app.memory.store import ChatStore
from app.sheets import library

GOOD = ["brenna", "old_tam", "kestrel", "hobb", "ash_widow"]
BAD_SHAPES = [
    "nobody",
    "",
    " ",
    "../brenna",
    "brenna.yaml.bak",
    "-x",
    "\u200bbrenna",
    "brenna\n",
    "x" * 5000,
    "名前",
    "{{char}}",
    "/dev/null",
    "/nonexistent/sheet.yaml",
    "'; DROP TABLE chats; --",
]


def _unknown_casts() -> list[tuple[str, list[str]]]:
    casts = []
    for shape, at, size in itertools.product(BAD_SHAPES, (0, 1, -1), (2, 3, 5)):
        cast = GOOD[: size - 1]
        cast.insert(at if at >= 0 else len(cast), shape)
        casts.append(("unknown", cast))
    return casts


def _duplicate_casts(home: Home) -> list[tuple[str, list[str]]]:
    path = str(library.load(home, "brenna")[0].path)
    casts = []
    for twin, size in itertools.product(["brenna", path], (2, 3, 8)):
        others = [g for g in GOOD if g != "brenna"][: size - 2]
        casts.append(("duplicate", ["brenna", *others, twin]))
    return casts


def _sized_casts() -> list[tuple[str, list[str]]]:
    many = [*GOOD, "a1", "a2", "a3", "a4", "a5", "a6"]
    return [("size", GOOD[:1]), ("size", many[:9]), ("size", many[:11])]


def _cases(home: Home) -> list[tuple[str, list[str]]]:
    return _unknown_casts() + _duplicate_casts(home) + _sized_casts()


def test_bad_casts_in_process_name_the_member(lw_home: Home) -> None:
    counts: Counter[str] = Counter()
    for kind, cast in _cases(lw_home):
        with pytest.raises(LoreweaverError) as caught:
            load_cast(lw_home, cast)
        message = str(caught.value)
        assert "\n" not in message.strip()
        counts[kind] += 1
    print(f"group casts refused in-process: {dict(counts)}")
    assert counts["unknown"] == len(BAD_SHAPES) * 9


def test_bad_casts_on_the_cli_are_one_line_and_store_nothing(lw_home: Home) -> None:
    # one id is a one-to-one chat on the CLI, not a group scene
    cases = [(kind, cast) for kind, cast in _cases(lw_home) if len(cast) > 1]
    outcomes = run_batch([(["chat", *cast, "--say", "hello"], {}) for _, cast in cases])
    counts: Counter[str] = Counter()
    for (kind, _cast), outcome in zip(cases, outcomes, strict=True):
        line = assert_clean_failure(outcome)
        if kind == "duplicate":
            assert "brenna" in line, line
        counts[kind] += 1
    print(f"group casts refused on the CLI: {dict(counts)}")
    store = ChatStore.open(lw_home)
    assert store.list_chats() == []
    store.close()
