"""Rows of the `chats` table as records: a chat, the listing behind `chats list`, branch titles."""

from __future__ import annotations

import re
import sqlite3

from app.memory.store.db import load_json
from app.memory.store.records import Chat, ChatSummary

PREVIEW_CHARS = 200
"""How much of a chat's last message a listing shows."""


def chat_from_row(row: sqlite3.Row) -> Chat:
    return Chat(
        id=row["id"],
        character_id=row["character_id"],
        title=row["title"],
        user_name=row["user_name"],
        meta=load_json(row["meta"]),
        active_leaf_id=row["active_leaf_id"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def summaries(conn: sqlite3.Connection, character_id: str | None) -> list[ChatSummary]:
    """Newest first; the count is of the active path (swipes and dead branches excluded)."""
    rows = conn.execute(
        """
        SELECT c.id, c.character_id, c.title, c.created_at, c.updated_at,
               COALESCE(m.depth + 1, 0) AS message_count, COALESCE(m.content, '') AS last
        FROM chats c LEFT JOIN messages m ON m.id = c.active_leaf_id
        WHERE ?1 IS NULL OR c.character_id = ?1
        ORDER BY c.updated_at DESC, c.id DESC
        """,
        (character_id,),
    ).fetchall()
    return [
        ChatSummary(
            id=row["id"],
            character_id=row["character_id"],
            title=row["title"],
            message_count=row["message_count"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            last_message=row["last"][:PREVIEW_CHARS],
        )
        for row in rows
    ]


_BRANCH_SUFFIX = re.compile(r" \(branch(?: \d+)?\)$")


def branch_title(conn: sqlite3.Connection, chat: Chat) -> str:
    """ "Title (branch)", then "Title (branch 2)", … for a branch of `chat`: never
    "Title (branch) (branch)"."""
    base = _BRANCH_SUFFIX.sub("", chat.title or f"Chat {chat.id}")
    taken = {
        row[0]
        for row in conn.execute(
            "SELECT title FROM chats WHERE character_id = ?", (chat.character_id,)
        )
    }
    number = 1
    while (name := f"{base} (branch{f' {number}' if number > 1 else ''})") in taken:
        number += 1
    return name
