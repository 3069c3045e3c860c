"""Hostile values for the per-chat options: state and trust values, author's note placement,
bookmark and persona names, preset names, search text, damaged personas files.

Generated as shapes × sizes. The domain is tried in-process (each value either accepted and
then well-formed, or refused with one `LoreweaverError` line); a few batches go through the real
CLI under the harness's limits. Per-class counts are printed for the lead's report.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from pathlib import Path

import pytest
from hostile.harness import assert_clean_failure, assert_survived, run_limited

from app.errors import LoreweaverError
from app.home import Home
from app.memory.authors_note import make_note
from app.memory.chat_state import state_entries, state_update
from app.memory.recall import search
from app.memory.store import ChatStore, add_bookmark, list_bookmarks
from app.personas import Personas, add_persona, load_personas
from app.settings import SamplingSettings, Settings, save_preset
from app.sheets.sheet import Sheet

SHAPES = [
    "",
    " ",
    "\t",
    "\n",
    "\x00",
    "\u200b",
    "-",
    "+",
    "--1",
    "1e309",
    "-1e309",
    "nan",
    "NaN",
    "inf",
    "-0",
    "0x10",
    "1_000",
    "٣",
    "９",
    "1.5",
    "½",
    "true",
    "yes",
    "NO",
    "𝟙",
    "\ufeff1",
    "' OR 1=1 --",
    '"',
    "NEAR(a b)",
    "a*",
    "{{user}}",
    "\u202eevil",
    "🗡️",
    "trust:",
    ":",
]
SIZES = [1, 64, 5000]


def _values() -> list[str]:
    """Each shape alone, and repeated/padded to each size (very long numbers included)."""
    out = list(SHAPES)
    for shape, size in itertools.product(SHAPES + ["9", "x"], SIZES):
        if shape:
            out.append((shape * size)[: max(size, len(shape))])
            out.append(" " * size + shape)
    return out


SHEET = Sheet.model_validate(
    {
        "name": "Orla",
        "state": [
            {"name": "gold", "type": "int", "min": 0, "max": 100},
            {"name": "heat", "type": "float"},
            {"name": "angry", "type": "bool"},
            {"name": "mood", "type": "text"},
        ],
        "relationships": [{"name": "{{user}}", "trust": 5}],
    }
)
COUNTS: Counter[str] = Counter()


def _one_line(exc: LoreweaverError) -> None:
    assert "\n" not in str(exc) and str(exc).strip()


def test_state_values() -> None:
    for name, raw in itertools.product(["gold", "heat", "angry", "mood", "trust:user"], _values()):
        try:
            update, entry = state_update(SHEET, {}, name, raw, user="Ann")
        except LoreweaverError as exc:
            _one_line(exc)
            COUNTS["state refused"] += 1
            continue
        COUNTS["state accepted"] += 1
        json.dumps(update, allow_nan=False)  # what the store will write
        again = {e.key: e.value for e in state_entries(SHEET, update, user="Ann")}
        assert again[entry.key] == entry.value
    for name in _values():
        with pytest.raises(LoreweaverError):
            state_update(SHEET, {}, name, "1", user="Ann")
        COUNTS["state name refused"] += 1


def test_authors_note_placement() -> None:
    numbers: list[object] = [-(10**30), -1, 0, 1, 1000, 1001, 10**30, 1.5, True, None, "3", "x"]
    for depth, frequency, role in itertools.product(
        numbers, numbers[:6], ["system", "user", "", "SYSTEM", "x" * 5000]
    ):
        try:
            note = make_note("text", depth=depth, frequency=frequency, role=role)  # type: ignore[arg-type]
        except LoreweaverError as exc:
            _one_line(exc)
            COUNTS["note refused"] += 1
            continue
        COUNTS["note accepted"] += 1
        assert 0 <= note.depth <= 1000 and 0 <= note.frequency <= 1000


def test_names_bookmarks_personas_presets(lw_home: Home) -> None:
    with ChatStore.open(lw_home) as store:
        chat = store.create_chat("brenna")
        store.add_message(chat.id, "assistant", "Hello.")
        for name in _values():
            try:
                add_bookmark(store, chat.id, name)
                COUNTS["bookmark accepted"] += 1
            except LoreweaverError as exc:
                _one_line(exc)
                COUNTS["bookmark refused"] += 1
        names = [b.name for b in list_bookmarks(store, chat.id)]
        assert len(names) == len(set(names)) and all(n.strip() for n in names)
        for text in _values():
            search(store, None, text)  # FTS syntax in the text is never run as a query
            COUNTS["search ran"] += 1
    personas = Personas()
    for name in _values():
        try:
            personas = add_persona(personas, name, name, character=name)
            COUNTS["persona accepted"] += 1
        except LoreweaverError as exc:
            _one_line(exc)
            COUNTS["persona refused"] += 1
        try:
            save_preset(Settings(), name, SamplingSettings())
            COUNTS["preset accepted"] += 1
        except LoreweaverError as exc:
            _one_line(exc)
            COUNTS["preset refused"] += 1


DAMAGED = [
    "",
    "\x00\x01",
    "personas: [1, 2]",
    "default: [x]",
    "personas:\n  - {name: a, x: 1}",
    "- 1",
    "!!python/object:os.system x",
    "personas: " + "[" * 5000,
    "a: &a [*a]",
    "\udcff".encode("utf-8", "surrogatepass").decode("latin-1"),
]


def test_damaged_personas_files_in_process_and_through_the_cli(
    lw_home: Home, tmp_path: Path
) -> None:
    for text in DAMAGED:
        (lw_home.root / "personas.yaml").write_text(text, encoding="utf-8", errors="replace")
        try:
            load_personas(lw_home)
            COUNTS["personas file read"] += 1
        except LoreweaverError as exc:
            _one_line(exc)
            COUNTS["personas file refused"] += 1
    (lw_home.root / "personas.yaml").write_text("personas: " + "[" * 5000)
    assert "personas.yaml" in assert_clean_failure(run_limited("personas", "list"))
    (lw_home.root / "personas.yaml").unlink()
    for args in (
        ["chats", "search", 'NEAR( " OR * -x:y'],
        ["chats", "search", "x" * 100_000],
        ["chats", "state", "1", "x", "y"],
        ["personas", "add", "\u202e" * 300],
    ):
        outcome = run_limited(*args)
        assert_survived(outcome)
        COUNTS[f"cli {outcome.verdict()}"] += 1
    print("\nhostile chat options:", dict(sorted(COUNTS.items())))
