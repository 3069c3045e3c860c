"""Undoing a delete: the last subtree deleted from each chat is kept whole, rows and edit history,
with the leaf the chat was on, so `restore` can put it back exactly (same ids: they are never
reused, `messages.id` is AUTOINCREMENT)."""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

from app.errors import LoreweaverError


def _rows(conn: sqlite3.Connection, sql: str, ids: list[int]) -> list[dict[str, Any]]:
    cursor = conn.execute(sql, (json.dumps(ids),))
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def keep(conn: sqlite3.Connection, chat_id: int, doomed: list[int], leaf: int | None) -> None:
    """Keep `doomed` (a subtree, root first) before it is deleted; replaces the chat's last one."""
    record = {
        "messages": _rows(
            conn,
            "SELECT * FROM messages WHERE id IN (SELECT value FROM json_each(?)) "
            "ORDER BY depth, id",
            doomed,
        ),
        "versions": _rows(
            conn,
            "SELECT * FROM message_versions WHERE message_id IN (SELECT value FROM json_each(?))",
            doomed,
        ),
        "leaf": leaf,
    }
    conn.execute(
        "INSERT OR REPLACE INTO deleted_subtrees (chat_id, record, deleted_at) VALUES (?, ?, ?)",
        (chat_id, json.dumps(record, ensure_ascii=False), time.time()),
    )


def restore(conn: sqlite3.Connection, chat_id: int) -> int | None:
    """Put the chat's last deleted subtree back; returns the leaf the chat was on then (None if
    it was on no message). Raises when there is nothing to restore or its parent is gone."""
    row = conn.execute(
        "SELECT record FROM deleted_subtrees WHERE chat_id = ?", (chat_id,)
    ).fetchone()
    if row is None:
        raise LoreweaverError("nothing to undo: no message of this chat was deleted")
    record = json.loads(row[0])
    messages: list[dict[str, Any]] = record["messages"]
    parent = messages[0]["parent_id"] if messages else None
    if (
        parent is not None
        and conn.execute("SELECT 1 FROM messages WHERE id = ?", (parent,)).fetchone() is None
    ):
        raise LoreweaverError("cannot undo the delete: the message it hung from is gone too")
    for table, rows in (("messages", messages), ("message_versions", record["versions"])):
        for values in rows:
            columns = ", ".join(values)
            marks = ", ".join("?" for _ in values)
            conn.execute(
                f"INSERT INTO {table} ({columns}) VALUES ({marks})", tuple(values.values())
            )
    conn.execute("DELETE FROM deleted_subtrees WHERE chat_id = ?", (chat_id,))
    leaf = record["leaf"]
    return int(leaf) if leaf is not None else None
