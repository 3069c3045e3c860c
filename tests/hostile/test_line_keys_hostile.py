"""Hostile line keys: the keys exports keep in the store (`app.export.keys`), damaged or
hand-edited. Random chat trees (swipes, branches, several speakers, failed, streaming and blank
messages) get garbage in their kept keys (every field of the wrong type, out of range,
duplicated among siblings, copied from another line), in a scene's line keys, and in whole
metadata columns (not JSON, not an object). Every export must still work and give unique ids for
every line and swipe, the same bytes twice, and, where the metadata is readable, the same id for
every line that survives a later delete. In-process: no subprocess is needed for a store."""

from __future__ import annotations

import json
import random
from collections import Counter
from typing import Any

import pytest

from app.export import export_chat, load_dialogue
from app.export.graph import one_line
from app.export.keys import LINE_KEY, STAMP
from app.home import Home
from app.memory.store import ChatStore
from app.memory.store.tree import subtree_ids

NAMES = ("Brenna", "Tam", None)
FIELD_VALUES: tuple[Any, ...] = (
    None, True, -1, 1.5, "2", 2**31, 10**30, 0, 1, 3, "", "0", "1", "m1", "dup", [], {}, [1],
    {"key": "x"}, "x" * 10_000,
)  # fmt: skip
"""What a kept field may hold after a hand edit or damage: a key, a number, or neither."""
RAW_COLUMNS = (
    "not json", "[1]", "5", "null", '"text"', "{", "", '{"dialogue_keys": {"variant": NaN}}',
    '{"seed": Infinity, "dialogue_keys": {"replies": {"assistant:Brenna": {"next": -Infinity}}}}',
)  # fmt: skip
"""Whole metadata columns that are no JSON object, or not strict JSON (Python reads NaN)."""


def garbage(rng: random.Random) -> Any:
    """One damaged `STAMP` value: of the wrong type, or a dict of wrong fields."""
    shape = rng.randrange(4)
    if shape == 0:
        return rng.choice(FIELD_VALUES)
    entry = {"key": rng.choice(FIELD_VALUES), "next": rng.choice(FIELD_VALUES)}
    replies = rng.choice(
        (
            rng.choice(FIELD_VALUES),
            {"assistant:Brenna": entry},
            {"assistant:Tam": rng.choice(FIELD_VALUES)},
        )
    )
    stamp = {
        "key": rng.choice(FIELD_VALUES),
        "variant": rng.choice(FIELD_VALUES),
        "replies": replies,
    }
    return stamp if shape < 3 else {k: v for k, v in stamp.items() if rng.random() < 0.5}


def build(store: ChatStore, rng: random.Random, size: int) -> tuple[int, list[int]]:
    """A random tree: each message hangs from a random earlier one (or is a root)."""
    chat = store.create_chat("brenna", user_name="Ash")
    ids: list[int] = []
    for number in range(size):
        parent = rng.choice([None, *ids[-6:]]) if ids and rng.random() < 0.9 else None
        role = rng.choice(("user", "assistant", "assistant", "system"))
        status = rng.choice(("complete",) * 8 + ("failed", "interrupted", "streaming"))
        text = "" if rng.random() < 0.05 else f"line {number}"
        name = rng.choice(NAMES) if role != "user" else None
        meta = {"seed": number}
        ids.append(
            store.add_message(
                chat.id,
                role,
                text,
                parent_id=parent,
                name=name,
                meta=meta,
                status=status,
            ).id
        )
    return chat.id, ids


def tamper(
    store: ChatStore, rng: random.Random, chat: int, ids: list[int], *, raw: bool
) -> Counter[str]:
    counts: Counter[str] = Counter()
    with store.transaction() as conn:
        for row in rng.sample(ids, k=max(1, len(ids) // 3)):
            if raw and rng.random() < 0.3:
                conn.execute(
                    "UPDATE messages SET meta = ? WHERE id = ?", (rng.choice(RAW_COLUMNS), row)
                )
                counts["raw column"] += 1
                continue
            meta: dict[str, Any] = {STAMP: garbage(rng)}
            if rng.random() < 0.2:
                meta[LINE_KEY] = rng.choice(("dup", "0", "1", "m1", 5, None))
                counts["scene key"] += 1
            conn.execute("UPDATE messages SET meta = ? WHERE id = ?", (json.dumps(meta), row))
            counts["stamp"] += 1
        metas: tuple[dict[str, object], ...] = (
            {},
            {STAMP: garbage(rng)},
            {STAMP: {}},
            {"dialogue_id": 7},
        )
        chat_meta = rng.choice(metas)
        column = rng.choice(RAW_COLUMNS) if raw and rng.random() < 0.2 else json.dumps(chat_meta)
        conn.execute("UPDATE chats SET meta = ? WHERE id = ?", (column, chat))
        counts["chat"] += 1
    return counts


def variant_ids(store: ChatStore, chat: int) -> dict[int, str]:
    """message id → its variant id, checking every id is unique and every line is there."""
    dialogue = load_dialogue(store, chat)
    found = {
        variant.message_id: line.variant_id(index)
        for line in dialogue.lines()
        for index, variant in enumerate(line.variants)
    }
    assert len(set(found.values())) == len(found)
    assert len({line.id for line in dialogue.lines()}) == len(dialogue.lines())
    for line in dialogue.lines():
        assert all(
            line.variant_id(i) == line.id or line.variant_id(i).startswith(f"{line.id}_")
            for i in range(len(line.variants))
        )
    with store.reading() as conn:
        rows = conn.execute("SELECT id, status, content FROM messages WHERE chat_id = ?", (chat,))
        lines = {
            row[0] for row in rows if row[1] not in ("failed", "streaming") and one_line(row[2])
        }
    assert set(found) == lines
    return found


@pytest.mark.parametrize("raw", [False, True], ids=["stamps", "raw-columns"])
def test_damaged_keys_still_export_unique_stable_ids(lw_home: Home, raw: bool) -> None:
    counts: Counter[str] = Counter()
    with ChatStore.open(lw_home) as store:
        for case in range(40):
            rng = random.Random(case * 2 + raw)
            chat, ids = build(store, rng, rng.choice((6, 25, 60)))
            if case % 2:  # half of them exported once before the damage
                export_chat(store, chat, "json")
            counts.update(tamper(store, rng, chat, ids, raw=raw))
            first = {form: export_chat(store, chat, form) for form in ("json", "csv", "yarn")}
            before = variant_ids(store, chat)
            assert {form: export_chat(store, chat, form) for form in first} == first
            doomed = rng.choice(ids)
            with store.reading() as conn:
                gone = set(subtree_ids(conn, doomed))
            store.delete(doomed)
            export_chat(store, chat, "json")
            after = variant_ids(store, chat)
            assert set(after) == set(before) - gone
            if not raw:  # readable metadata: every surviving line and swipe keeps its id
                assert after == {row: before[row] for row in after}
            counts["cases"] += 1
            counts["messages"] += len(ids)
    print(f"line keys hostile ({'raw' if raw else 'stamps'}): {dict(sorted(counts.items()))}")
    assert counts["cases"] == 40
