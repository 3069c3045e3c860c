"""Hostile ids and names for a new character (`characters new ID --name NAME`).

In-process, many generated ids × names through `catalog.new_character`: each is either a valid
sheet that loads back with the name as typed (whitespace folded), or one clear line with the
home untouched. Then a few argv shapes through the real CLI under time and memory limits.
"""

from __future__ import annotations

import random
from collections import Counter

import pytest
from hostile.harness import assert_survived, run_limited, tree_digest

from app.errors import LoreweaverError
from app.home import Home
from app.sheets import catalog, library

ID_SHAPES = [
    "",
    " ",
    "a",
    "ok_{n}",
    "UPPER{n}",
    "../up{n}",
    "/abs{n}",
    "a/b{n}",
    "a\\b{n}",
    ".",
    "..",
    "-dash{n}",
    "x" * 64,
    "x" * 65,
    "y" * 5000,
    "café{n}",
    "日本{n}",
    "a b{n}",
    "a\nb{n}",
    "a\tb",
    "tab\t",
    "brenna",
    "con",
    "nul{n}",
    "_lead{n}",
    "trail_{n}_",
    "a__b{n}",
    "a-b{n}",
    "\u202eevil{n}",
    "zero\u200bwidth{n}",
]
NAME_SHAPES = [
    None,
    "",
    "   ",
    "Mira",
    "&anchor",
    "*alias",
    "- item",
    "key: value",
    "'quoted",
    '"double',
    "{braces}",
    "[list]",
    "null",
    "~",
    "true",
    "123",
    "#comment",
    "%tag",
    "@at",
    "`tick`",
    "line\nbreak",
    "tab\there",
    "\r\n",
    "x" * 200,
    "x" * 201,
    "y" * 100_000,
    "{{char}}",
    "{% raw %}",
    "Ünïcödé 日本語 🗝️",
    "\u202eright-to-left",
    "\x00nul",
    "\x1b[31mred",
    "\ud800lone",
    "a: b\nc: d",
    "...",
    "---",
]


def test_generated_ids_and_names_give_a_valid_sheet_or_one_clear_line(lw_home: Home) -> None:
    rng = random.Random(13)
    counts: Counter[str] = Counter()
    pairs = [(i, m) for i in ID_SHAPES for m in rng.sample(NAME_SHAPES, 8)]
    pairs += [("name_{n}", m) for m in NAME_SHAPES]  # every name with a valid id
    for n, (id_shape, name) in enumerate(pairs):
        new_id = id_shape.format(n=n) if "{n}" in id_shape else id_shape
        before = tree_digest(lw_home.root)
        try:
            entry = catalog.new_character(lw_home, new_id, name)
        except LoreweaverError as exc:
            message = str(exc)
            assert message and "\n" not in message, repr(message)
            assert tree_digest(lw_home.root) == before, (new_id, name)
            counts["refused"] += 1
            continue
        new_id = new_id.strip()  # surrounding blanks are not part of an id
        assert entry.path == lw_home.characters / f"{new_id}.yaml"
        assert [p.name for p in lw_home.characters.iterdir() if p.suffix == ".tmp"] == []
        sheet = library.load_sheet(entry.path)
        folded = " ".join((name or "").split())
        assert sheet.name == (folded or new_id.replace("_", " ").replace("-", " ").title())
        counts["created"] += 1
    print(f"new character, in-process: {dict(counts)}")
    assert counts["created"] > 40 and counts["refused"] > 100


@pytest.mark.parametrize(
    "args",
    [
        ["--name", "x"],  # no id
        ["-x"],
        ["ok", "--name"],
        ["ok", "--name", "z" * 120_000],
        ["ok", "--name", "日本語\nline"],
        ["é" * 300],
        ["ok", "extra"],
    ],
    ids=[
        "no-id",
        "dash-id",
        "name-missing",
        "huge-name",
        "unicode-newline",
        "long-unicode-id",
        "extra-arg",
    ],
)
def test_argv_shapes_through_the_cli_never_hang_crash_or_trace(
    lw_home: Home, args: list[str]
) -> None:
    outcome = run_limited("characters", "new", *args, timeout=60)
    assert_survived(outcome)
    if outcome.verdict() == "ok":
        assert library.load(lw_home, args[0])[1].name
