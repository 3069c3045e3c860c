"""Named bookmarks (checkpoints) on a chat's messages: list them, jump back to one, or branch
a new chat from one.

A bookmark names a message, not a path position: jumping back makes that message the end of
the chat's active path (what followed stays in the tree, beside the next line sent); deleting
the message deletes its bookmarks. Names are unique within a chat.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from app.errors import LoreweaverError
from app.memory.store.chat_store import ChatStore
from app.memory.store.records import Chat, StoredMessage

MAX_NAME = 200


@dataclass(frozen=True)
class Bookmark:
    id: int
    chat_id: int
    message_id: int
    name: str
    created_at: float


def _clean(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise LoreweaverError("a bookmark needs a name")
    if len(cleaned) > MAX_NAME:
        raise LoreweaverError(f"a bookmark name is at most {MAX_NAME} characters")
    return cleaned


def add_bookmark(
    store: ChatStore, chat_id: int, name: str, message_id: int | None = None
) -> Bookmark:
    """Bookmark `message_id` (default: the end of the active path) under `name`."""
    cleaned = _clean(name)
    with store.transaction() as conn:
        chat = store.get_chat(chat_id)
        target = chat.active_leaf_id if message_id is None else message_id
        if target is None:
            raise LoreweaverError(f"chat {chat_id} has no messages to bookmark")
        if store.get_message(target).chat_id != chat_id:
            raise LoreweaverError(f"message {target} is not in chat {chat_id}")
        if conn.execute(
            "SELECT 1 FROM bookmarks WHERE chat_id = ? AND name = ?", (chat_id, cleaned)
        ).fetchone():
            raise LoreweaverError(f"chat {chat_id} already has a bookmark named {cleaned!r}")
        now = time.time()
        cursor = conn.execute(
            "INSERT INTO bookmarks (chat_id, message_id, name, created_at) VALUES (?, ?, ?, ?)",
            (chat_id, target, cleaned, now),
        )
        return Bookmark(int(cursor.lastrowid or 0), chat_id, target, cleaned, now)


def list_bookmarks(store: ChatStore, chat_id: int) -> list[Bookmark]:
    """The chat's bookmarks, oldest first."""
    with store.transaction() as conn:
        store.get_chat(chat_id)
        rows = conn.execute(
            "SELECT id, chat_id, message_id, name, created_at FROM bookmarks WHERE chat_id = ? "
            "ORDER BY created_at, id",
            (chat_id,),
        ).fetchall()
    return [Bookmark(*tuple(row)) for row in rows]


def find_bookmark(store: ChatStore, chat_id: int, name: str) -> Bookmark:
    wanted = " ".join(name.split())
    found = [b for b in list_bookmarks(store, chat_id) if b.name == wanted]
    if not found:
        known = ", ".join(repr(b.name) for b in list_bookmarks(store, chat_id)) or "none"
        raise LoreweaverError(f"chat {chat_id} has no bookmark {wanted!r} (bookmarks: {known})")
    return found[0]


def remove_bookmark(store: ChatStore, chat_id: int, name: str) -> None:
    mark = find_bookmark(store, chat_id, name)
    with store.transaction() as conn:
        conn.execute("DELETE FROM bookmarks WHERE id = ?", (mark.id,))


def jump_to(store: ChatStore, chat_id: int, name: str) -> StoredMessage:
    """Take the chat back to the bookmarked message (the later messages stay, as a branch)."""
    return store.rewind(find_bookmark(store, chat_id, name).message_id)


def branch_from(store: ChatStore, chat_id: int, name: str) -> Chat:
    """A new chat holding the path up to the bookmarked message."""
    return store.branch(find_bookmark(store, chat_id, name).message_id)
