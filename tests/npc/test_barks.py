"""Barks on the bundled model: the count is met, no two are near duplicates, each is one line
within the limit, the same seed gives the same set and any one bark is made again from what
is recorded with it; the CLI stores them with the character."""

from __future__ import annotations

import csv
import difflib
import io
import json
import random
from itertools import combinations
from typing import TYPE_CHECKING

import pytest
import yaml
from support import one_line_error, run_cli

from app.engine.base import Sampling
from app.home import Home
from app.models import resolve_model
from app.npc.barks import BarkJob, generate_barks, remake, replace_one
from app.npc.dedupe import NEAR, DistinctLines, normalise, similarity
from app.prompts.formats import choose_format
from app.sheets import library

if TYPE_CHECKING:
    from app.engine.llamacpp import LlamaEngine


def test_exact_and_near_duplicates_are_dropped() -> None:
    lines = DistinctLines()
    kept = [
        line
        for line in [
            "Halt! Who goes there?",
            "halt... WHO goes there",  # exact once normalised
            "Halt, who goes there, stranger?",  # near
            "Hâlt! Who goès there?",  # accents only
            "Coin first, then talk.",
            "The gate shuts at sundown.",
        ]
        if lines.add(line)
    ]
    assert kept == ["Halt! Who goes there?", "Coin first, then talk.", "The gate shuts at sundown."]
    assert normalise("  Hâlt!!  WHO\tgoes ") == "halt who goes"


def test_the_trigram_index_finds_what_comparing_all_pairs_finds() -> None:
    rng = random.Random(3)
    vocab = ["halt", "who", "goes", "there", "coin", "first", "gate", "shut", "steel", "cheap"]
    candidates = [" ".join(rng.choices(vocab, k=rng.randint(2, 5))) for _ in range(300)]
    indexed = DistinctLines()
    kept_by_index = [c for c in candidates if indexed.add(c)]
    brute: list[str] = []
    for c in candidates:
        if all(similarity(c, k) < NEAR for k in brute):
            brute.append(c)
    assert kept_by_index == brute
    assert 5 < len(brute) < 300  # both kinds of decision were made


@pytest.fixture
def job(lw_home: Home) -> BarkJob:
    info = resolve_model(lw_home, None)
    _, sheet = library.load(lw_home, "brenna")
    sampling = Sampling(temperature=1.0, top_p=0.95, top_k=60, min_p=0.02, repeat_penalty=1.1)
    return BarkJob(sheet, choose_format(None, info), "greet", 48, sampling, info.path.name)


def test_count_met_distinct_limited_and_the_same_seed_gives_the_same_set(
    engine: LlamaEngine,
    job: BarkJob,
) -> None:
    barks = generate_barks(engine, job, 5, seed=11)
    assert len(barks) == 5
    for bark in barks:
        assert 0 < len(bark.text) <= 48 and "\n" not in bark.text
        assert (bark.trigger, bark.max_chars, bark.temperature) == ("greet", 48, 1.0)
    for a, b in combinations(barks, 2):
        assert similarity(a.text, b.text) < NEAR
        ratio = difflib.SequenceMatcher(None, normalise(a.text), normalise(b.text)).ratio()
        assert ratio < 0.9, (a.text, b.text)  # an independent measure agrees
    again = generate_barks(engine, job, 5, seed=11)
    assert [b.text for b in again] == [b.text for b in barks]
    assert [b.seed for b in again] == [b.seed for b in barks]
    assert remake(engine, job, barks[3]) == barks[3]  # one bark, from its own record
    other = generate_barks(engine, job, 2, seed=12_345)
    assert [b.text for b in other] != [b.text for b in barks[:2]]
    swapped = replace_one(engine, job, barks, 2)
    assert swapped[:2] == barks[:2] and swapped[3:] == barks[3:]
    assert swapped[2].seed > max(b.seed for b in barks)
    assert all(similarity(swapped[2].text, b.text) < NEAR for b in barks)


def test_cli_prints_json_and_csv_and_stores_the_set_with_the_character(lw_home: Home) -> None:
    args = ("barks", "brenna", "--trigger", "alert", "--count", "3", "--seed", "5")
    first = run_cli(*args, "--max-chars", "40", "--json", timeout=600)
    assert first.returncode == 0, first.stderr
    barks = json.loads(first.stdout)
    assert len(barks) == 3 and all(b["seed"] >= 5 and b["max_chars"] == 40 for b in barks)
    path = lw_home.characters / "barks" / "brenna.yaml"
    stored = yaml.safe_load(path.read_text())["barks"]
    assert [b["text"] for b in stored] == [b["text"] for b in barks]
    again = run_cli(*args, "--max-chars", "40", "--csv", timeout=600)  # same seed
    assert again.returncode == 0, again.stderr
    rows = list(csv.DictReader(io.StringIO(again.stdout)))
    assert [r["text"] for r in rows] == [b["text"] for b in barks]  # same seed, same set
    assert len(yaml.safe_load(path.read_text())["barks"]) == 3  # replaced, not appended
    assert "barks" not in {e.id for e in library.entries(lw_home)}  # not taken for a sheet


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--count", "0"], "--count"),
        (["--count", "999"], "--count"),
        (["--max-chars", "3"], "--max-chars"),
        (["--seed", "-1"], "--seed"),
        (["--parallel", "0"], "--parallel"),
        (["--trigger", "   "], "--trigger"),
    ],
)
def test_bad_bark_options_are_one_line_and_store_nothing(
    lw_home: Home, args: list[str], words: str
) -> None:
    base = {"--trigger": "greet", "--count": "2"}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    flat = [x for pair in base.items() for x in pair]
    line = one_line_error(run_cli("barks", "brenna", *flat))
    assert words in line
    assert not (lw_home.characters / "barks").exists()
