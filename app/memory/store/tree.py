"""Tree queries over the `messages` table, shared by the store's operations.

A chat's messages form a forest linked by `parent_id`. Swipes and branches are siblings; the path
the user sees runs from a root to the chat's active leaf. Each time a message becomes the active
leaf it is stamped with the chat's next activation number, so "where was I on this branch" is
simply the most recently stamped node below it.
"""

from __future__ import annotations

import sqlite3

from app.memory.store.db import load_json
from app.memory.store.records import StoredMessage

_COLUMNS = (
    "id", "chat_id", "parent_id", "role", "content", "name", "status", "meta", "depth",
    "importance", "created_at", "updated_at",
)  # fmt: skip


def message_columns(table: str = "") -> str:
    """The columns `message_from_row` reads, optionally qualified (`m.id, m.chat_id, …`)."""
    prefix = f"{table}." if table else ""
    return ", ".join(prefix + name for name in _COLUMNS)


MESSAGE_COLUMNS = message_columns()


def message_from_row(row: sqlite3.Row) -> StoredMessage:
    return StoredMessage(
        id=row["id"],
        chat_id=row["chat_id"],
        parent_id=row["parent_id"],
        role=row["role"],
        content=row["content"],
        name=row["name"],
        status=row["status"],
        meta=load_json(row["meta"]),
        depth=row["depth"],
        importance=row["importance"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def path_rows(conn: sqlite3.Connection, leaf_id: int) -> list[sqlite3.Row]:
    """The messages from the root down to `leaf_id`, in order."""
    return conn.execute(
        f"""
        WITH RECURSIVE up(id) AS (
            SELECT ?
            UNION ALL
            SELECT m.parent_id FROM messages m JOIN up ON m.id = up.id
            WHERE m.parent_id IS NOT NULL
        )
        SELECT {MESSAGE_COLUMNS} FROM messages WHERE id IN (SELECT id FROM up) ORDER BY depth
        """,
        (leaf_id,),
    ).fetchall()


def subtree_ids(conn: sqlite3.Connection, root_id: int) -> list[int]:
    """`root_id` and every message below it."""
    rows = conn.execute(
        """
        WITH RECURSIVE below(id) AS (
            SELECT ?
            UNION ALL
            SELECT m.id FROM messages m JOIN below ON m.parent_id = below.id
        )
        SELECT id FROM below
        """,
        (root_id,),
    ).fetchall()
    return [int(row[0]) for row in rows]


def newest_leaf(conn: sqlite3.Connection, root_id: int) -> int:
    """The node below (or at) `root_id` that was the active leaf most recently.

    Ties (never-activated nodes) go to the deepest, then newest, so a fresh subtree still ends
    at its last message.
    """
    row = conn.execute(
        """
        WITH RECURSIVE below(id) AS (
            SELECT ?
            UNION ALL
            SELECT m.id FROM messages m JOIN below ON m.parent_id = below.id
        )
        SELECT m.id FROM messages m JOIN below ON m.id = below.id
        ORDER BY m.activated DESC, m.depth DESC, m.id DESC LIMIT 1
        """,
        (root_id,),
    ).fetchone()
    return int(row[0]) if row is not None else root_id


def newest_in_chat(conn: sqlite3.Connection, chat_id: int) -> int | None:
    row = conn.execute(
        "SELECT id FROM messages WHERE chat_id = ? "
        "ORDER BY activated DESC, depth DESC, id DESC LIMIT 1",
        (chat_id,),
    ).fetchone()
    return int(row[0]) if row is not None else None


def sibling_rows(
    conn: sqlite3.Connection, chat_id: int, parent_id: int | None, role: str
) -> list[sqlite3.Row]:
    """Messages sharing a parent and a role (a reply and its swipes), oldest first."""
    return conn.execute(
        f"SELECT {MESSAGE_COLUMNS} FROM messages "
        "WHERE chat_id = ? AND parent_id IS ? AND role = ? ORDER BY id",
        (chat_id, parent_id, role),
    ).fetchall()


def copy_path(conn: sqlite3.Connection, leaf_id: int, chat_id: int, now: float) -> int:
    """Copy the path root → `leaf_id` into `chat_id` in one statement (a 100,000-message path
    is never loaded); a reply still streaming is copied as `interrupted`. Returns the copy's
    leaf. A path's depths run 0, 1, … so each copy's id is the new block's start + its depth."""
    (top,) = conn.execute("SELECT COALESCE(MAX(id), 0) FROM messages").fetchone()
    conn.execute(
        """
        WITH RECURSIVE up(id) AS (
            SELECT :leaf
            UNION ALL
            SELECT m.parent_id FROM messages m JOIN up ON m.id = up.id
            WHERE m.parent_id IS NOT NULL
        )
        INSERT INTO messages (id, chat_id, parent_id, depth, role, name, content, status,
                              meta, created_at, updated_at)
        SELECT :top + m.depth + 1, :chat, CASE WHEN m.depth = 0 THEN NULL ELSE :top + m.depth END,
               m.depth, m.role, m.name, m.content,
               CASE WHEN m.status = 'streaming' THEN 'interrupted' ELSE m.status END,
               m.meta, m.created_at, :now
        FROM messages m WHERE m.id IN (SELECT id FROM up) ORDER BY m.depth
        """,
        {"leaf": leaf_id, "top": top, "chat": chat_id, "now": now},
    )
    (leaf,) = conn.execute(
        "SELECT id FROM messages WHERE chat_id = ? ORDER BY depth DESC LIMIT 1", (chat_id,)
    ).fetchone()
    return int(leaf)
