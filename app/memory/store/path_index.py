"""The active path read in pieces: its ids and roles first, texts only for the rows asked for.

A chat of 100,000 messages must open as fast as a short one, so nothing here reads every text
of a path into Python: the index is ids, roles and cached token counts; texts come a page at a
time, and a prompt's copy of a text is read only up to the length a prompt may hold
(`substr` in SQL), with the full length beside it so the cut can be shown.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from app.memory.store.tree import message_columns

WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
"""What `str.strip()` removes: a message of only these is blank (not shown, not prompted)."""

_UP = """
    WITH RECURSIVE up(id) AS (
        SELECT ?
        UNION ALL
        SELECT m.parent_id FROM messages m JOIN up ON m.id = up.id WHERE m.parent_id IS NOT NULL
    )
"""
"""The ids from a leaf (the statement's first parameter) up to its root."""

VISIBLE = (
    "trim(m.content, :blank) <> '' AND NOT (json_valid(m.meta) AND "
    "COALESCE(json_extract(m.meta, '$.hidden') NOT IN (0, '', '[]', '{}'), 0))"
)
"""A message the user sees: not blank (stopped at once) and not hidden (`meta.hidden` truthy)."""


@dataclass
class PathIndex:
    """The visible active path without its texts, in order (root first)."""

    ids: list[int]
    roles: list[str]
    tokens: list[int | None]
    """Cached token counts for the tokenizer the index was read for (None: not counted yet)."""


def read_index(conn: sqlite3.Connection, leaf_id: int | None, tokenizer: str) -> PathIndex:
    if leaf_id is None:
        return PathIndex([], [], [])
    rows = conn.execute(
        _UP.replace("?", ":leaf")
        + f"""
        SELECT m.id, m.role, t.tokens FROM messages m
        LEFT JOIN message_tokens t ON t.tokenizer = :tokenizer AND t.message_id = m.id
        WHERE m.id IN (SELECT id FROM up) AND {VISIBLE}
        ORDER BY m.depth
        """,
        {"leaf": leaf_id, "tokenizer": tokenizer, "blank": WHITESPACE},
    ).fetchall()
    roles = {"user": "user", "assistant": "assistant", "system": "system"}  # one str per role
    return PathIndex(
        [row[0] for row in rows],
        [roles.get(row[1], row[1]) for row in rows],
        [row[2] for row in rows],
    )


def save_tokens(
    conn: sqlite3.Connection, tokenizer: str, counts: Iterable[tuple[int, int]]
) -> None:
    """Remember token counts; a message deleted meanwhile is skipped."""
    conn.executemany(
        "INSERT OR REPLACE INTO message_tokens (message_id, tokenizer, tokens) "
        "SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM messages WHERE id = ?1)",
        [(message_id, tokenizer, tokens) for message_id, tokens in counts],
    )


def read_heads(
    conn: sqlite3.Connection, ids: Sequence[int], chars: int
) -> dict[int, tuple[str, int]]:
    """For each id: its text's first `chars` characters and the text's full length."""
    rows = conn.execute(
        "SELECT id, substr(content, 1, ?), length(content) FROM messages "
        "WHERE id IN (SELECT value FROM json_each(?))",
        (chars, json.dumps(list(ids))),
    ).fetchall()
    return {row[0]: (row[1], row[2]) for row in rows}


def read_rows(conn: sqlite3.Connection, ids: Sequence[int]) -> dict[int, sqlite3.Row]:
    """Whole message rows (full texts) for a page of ids."""
    rows = conn.execute(
        f"SELECT {message_columns()} FROM messages WHERE id IN (SELECT value FROM json_each(?))",
        (json.dumps(list(ids)),),
    ).fetchall()
    return {row["id"]: row for row in rows}


def on_path(conn: sqlite3.Connection, leaf_id: int | None, ids: Sequence[int]) -> dict[int, int]:
    """Which of `ids` lie on the path ending at `leaf_id`, with their depths."""
    if leaf_id is None or not ids:
        return {}
    rows = conn.execute(
        _UP + "SELECT m.id, m.depth FROM messages m "
        "WHERE m.id IN (SELECT value FROM json_each(?)) AND m.id IN (SELECT id FROM up)",
        (leaf_id, json.dumps(list(ids))),
    ).fetchall()
    return {row[0]: row[1] for row in rows}


def up_cte() -> str:
    """The recursive CTE `up` of a leaf's path (its first `?` parameter is the leaf id)."""
    return _UP
