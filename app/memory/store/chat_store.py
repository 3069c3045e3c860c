"""Durable chats: every chat a tree of messages in one SQLite file in the home.

Swipes (regenerated replies) are siblings under the same parent; a branch is a message added
under an older one; edits keep the old text. The active path — what the user sees — runs from the
root to the chat's active leaf. All writes go through here, each in one transaction (see `db`).
"""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import AbstractContextManager
from enum import Enum
from pathlib import Path
from typing import Any

from app.errors import LoreweaverError
from app.home import Home
from app.memory.store import rows as chat_rows
from app.memory.store import trash, tree
from app.memory.store.db import Database, dump_json, heals_search_index
from app.memory.store.liveness import interrupt_dead_writers, process_token
from app.memory.store.records import ROLES, STATUSES, Chat, ChatSummary, Status, StoredMessage
from app.memory.store.tree import MESSAGE_COLUMNS, message_from_row
from app.prompts.messages import Role


class _Leaf(Enum):
    ACTIVE = "active"


ACTIVE_LEAF = _Leaf.ACTIVE
"""`add_message(parent_id=ACTIVE_LEAF)`: continue the path the user is on."""

ParentRef = int | None | _Leaf
"""Where a new message goes: under a message id, as a new root (None), or `ACTIVE_LEAF`."""


class ChatStore:
    """One open chat database. Open it once per process (or per thread group) and close it.

    Opening creates the file if needed, upgrades an older schema, and settles replies a dead
    process left half-written. Unknown ids raise `LoreweaverError`.
    """

    recovered: list[int]
    """Replies this open found `streaming` from a dead process and marked `interrupted`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = Database(path)
        self._token = process_token()
        try:
            self.recovered = interrupt_dead_writers(self._db)
        except BaseException:
            self._db.close()
            raise

    @classmethod
    def open(cls, home: Home) -> ChatStore:
        return cls(home.database)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> ChatStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        """Group several store calls into one transaction: all of them commit, or none."""
        return self._db.write()

    def reading(self) -> AbstractContextManager[sqlite3.Connection]:
        """A consistent snapshot for several reads (see `path_index` for the queries)."""
        return self._db.read()

    # -- chats --------------------------------------------------------------------------------

    def create_chat(
        self,
        character_id: str,
        *,
        title: str | None = None,
        user_name: str = "User",
        meta: dict[str, Any] | None = None,
        created_at: float | None = None,
    ) -> Chat:
        if not character_id.strip():
            raise LoreweaverError("a chat needs a character id")
        now = time.time()
        with self.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO chats (character_id, title, user_name, meta, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    character_id,
                    title,
                    user_name,
                    dump_json(meta),
                    now if created_at is None else created_at,
                    now,
                ),
            )
            return self.get_chat(int(cursor.lastrowid or 0))

    def get_chat(self, chat_id: int) -> Chat:
        with self._db.lock:
            row = self._db.conn.execute("SELECT * FROM chats WHERE id = ?", (chat_id,)).fetchone()
        if row is None:
            raise LoreweaverError(f"no chat with id {chat_id}")
        return chat_rows.chat_from_row(row)

    def list_chats(self, character_id: str | None = None) -> list[ChatSummary]:
        """Newest first; the count is of the active path (swipes and dead branches excluded)."""
        with self._db.lock:
            return chat_rows.summaries(self._db.conn, character_id)

    def latest_chat(self, character_id: str) -> Chat | None:
        with self._db.lock:
            row = self._db.conn.execute(
                "SELECT * FROM chats WHERE character_id = ? ORDER BY updated_at DESC, id DESC "
                "LIMIT 1",
                (character_id,),
            ).fetchone()
        return chat_rows.chat_from_row(row) if row is not None else None

    def update_chat(
        self,
        chat_id: int,
        *,
        title: str | None = None,
        user_name: str | None = None,
        meta: dict[str, Any] | None = None,
    ) -> Chat:
        """Rename a chat, change its persona, or merge keys into its metadata."""
        with self.transaction() as conn:
            chat = self.get_chat(chat_id)
            conn.execute(
                "UPDATE chats SET title = ?, user_name = ?, meta = ?, updated_at = ? WHERE id = ?",
                (
                    chat.title if title is None else title,
                    chat.user_name if user_name is None else user_name,
                    dump_json({**chat.meta, **meta} if meta else chat.meta),
                    time.time(),
                    chat_id,
                ),
            )
            return self.get_chat(chat_id)

    def delete_chat(self, chat_id: int) -> None:
        with self.transaction() as conn:
            self.get_chat(chat_id)
            conn.execute("DELETE FROM messages WHERE chat_id = ?", (chat_id,))
            conn.execute("DELETE FROM chats WHERE id = ?", (chat_id,))

    def _activate(self, chat_id: int, leaf_id: int | None, now: float) -> None:
        """Make `leaf_id` the end of the chat's active path and stamp it as the latest visit."""
        if leaf_id is None:
            self._db.conn.execute(
                "UPDATE chats SET active_leaf_id = NULL, updated_at = ? WHERE id = ?",
                (now, chat_id),
            )
            return
        (stamp,) = self._db.conn.execute(
            "UPDATE chats SET activations = activations + 1, active_leaf_id = ?, updated_at = ? "
            "WHERE id = ? RETURNING activations",
            (leaf_id, now, chat_id),
        ).fetchall()[0]
        self._db.conn.execute("UPDATE messages SET activated = ? WHERE id = ?", (stamp, leaf_id))

    def _touch(self, chat_id: int, now: float) -> None:
        self._db.conn.execute("UPDATE chats SET updated_at = ? WHERE id = ?", (now, chat_id))

    # -- messages -----------------------------------------------------------------------------

    @heals_search_index
    def add_message(
        self,
        chat_id: int,
        role: Role,
        content: str,
        *,
        parent_id: ParentRef = ACTIVE_LEAF,
        name: str | None = None,
        meta: dict[str, Any] | None = None,
        status: Status = "complete",
        created_at: float | None = None,
    ) -> StoredMessage:
        """Store a message under `parent_id` (default: the active leaf); it becomes the leaf.

        A second reply under the same parent is a swipe; a message under an older one starts a
        branch. `status="streaming"` marks a reply still being written by this process.
        """
        if role not in ROLES:
            raise LoreweaverError(f"unknown message role {role!r} (known: {', '.join(ROLES)})")
        if status not in STATUSES:
            raise LoreweaverError(f"unknown message status {status!r}")
        now = time.time()
        with self.transaction() as conn:
            chat = self.get_chat(chat_id)
            parent = chat.active_leaf_id if parent_id is ACTIVE_LEAF else parent_id
            depth = 0
            if parent is not None:
                above = self.get_message(parent)
                if above.chat_id != chat_id:
                    raise LoreweaverError(f"message {parent} is not in chat {chat_id}")
                depth = above.depth + 1
            cursor = conn.execute(
                "INSERT INTO messages (chat_id, parent_id, depth, role, name, content, status, "
                "writer, meta, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    chat_id,
                    parent,
                    depth,
                    role,
                    name,
                    content,
                    status,
                    self._token if status == "streaming" else None,
                    dump_json(meta),
                    now if created_at is None else created_at,
                    now,
                ),
            )
            message_id = int(cursor.lastrowid or 0)
            self._activate(chat_id, message_id, now)
            return self.get_message(message_id)

    def get_message(self, message_id: int) -> StoredMessage:
        with self._db.lock:
            row = self._db.conn.execute(
                f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = ?", (message_id,)
            ).fetchone()
        if row is None:
            raise LoreweaverError(f"no message with id {message_id}")
        return message_from_row(row)

    @heals_search_index
    def update_reply(
        self,
        message_id: int,
        content: str,
        *,
        status: Status | None = None,
        meta: dict[str, Any] | None = None,
    ) -> None:
        """Overwrite a reply's text in place (a streaming checkpoint, not an edit: no version).

        `meta` keys are merged into the message's metadata; a final status releases the row.
        """
        if status is not None and status not in STATUSES:
            raise LoreweaverError(f"unknown message status {status!r}")
        now = time.time()
        with self.transaction() as conn:
            current = self.get_message(message_id)
            merged = {**current.meta, **meta} if meta else current.meta
            final = status if status is not None else current.status
            conn.execute(
                "UPDATE messages SET content = ?, status = ?, meta = ?, updated_at = ?, "
                "writer = CASE WHEN ? = 'streaming' THEN writer ELSE NULL END WHERE id = ?",
                (content, final, dump_json(merged), now, final, message_id),
            )
            self._touch(current.chat_id, now)

    def active_path(self, chat_id: int) -> list[StoredMessage]:
        """The conversation the user sees: root → active leaf."""
        with self._db.read():
            chat = self.get_chat(chat_id)
            if chat.active_leaf_id is None:
                return []
            return [
                message_from_row(row) for row in tree.path_rows(self._db.conn, chat.active_leaf_id)
            ]

    def swipes(self, message_id: int) -> list[StoredMessage]:
        """The alternatives to a message: same parent, same role, oldest first (itself included).

        Its position in this list, over the list's length, is the swipe counter ("2/3").
        """
        with self._db.read():
            message = self.get_message(message_id)
            rows = tree.sibling_rows(
                self._db.conn, message.chat_id, message.parent_id, message.role
            )
            return [message_from_row(row) for row in rows]

    def select(self, message_id: int) -> StoredMessage:
        """Switch to `message_id`'s branch, resuming where the user last was below it.

        Returns the new active leaf.
        """
        with self.transaction() as conn:
            message = self.get_message(message_id)
            leaf = tree.newest_leaf(conn, message_id)
            self._activate(message.chat_id, leaf, time.time())
            return self.get_message(leaf)

    def rewind(self, message_id: int) -> StoredMessage:
        """Make `message_id` the end of the active path: the chat goes back to that point (what
        followed it stays in the tree, as a branch a new line starts beside)."""
        with self.transaction():
            message = self.get_message(message_id)
            self._activate(message.chat_id, message_id, time.time())
            return message

    @heals_search_index
    def edit(self, message_id: int, content: str) -> StoredMessage:
        """Replace a message's text; the old text is kept (see `versions`)."""
        now = time.time()
        with self.transaction() as conn:
            message = self.get_message(message_id)
            if message.status == "streaming":
                raise LoreweaverError(f"message {message_id} is still being written")
            if content == message.content:
                return message
            conn.execute(
                "INSERT INTO message_versions (message_id, content, replaced_at) VALUES (?, ?, ?)",
                (message_id, message.content, now),
            )
            conn.execute(
                "UPDATE messages SET content = ?, updated_at = ? WHERE id = ?",
                (content, now, message_id),
            )
            self._touch(message.chat_id, now)
            return self.get_message(message_id)

    def versions(self, message_id: int) -> list[str]:
        """Every text the message has had, oldest first; the last is the current one."""
        with self._db.read() as conn:
            current = self.get_message(message_id)
            rows = conn.execute(
                "SELECT content FROM message_versions WHERE message_id = ? ORDER BY id",
                (message_id,),
            ).fetchall()
        return [row[0] for row in rows] + [current.content]

    def branch(self, message_id: int, *, title: str | None = None) -> Chat:
        """A new chat whose history is a copy of the path up to `message_id`.

        A copy rather than shared rows: the two chats can then be edited or deleted on their
        own. The new chat's meta records where it came from (`branched_from`); edit histories
        are not copied, and a reply still streaming is copied as `interrupted`.
        """
        with self.transaction():
            source = self.get_message(message_id)
            chat = self.get_chat(source.chat_id)
            new = self.create_chat(
                chat.character_id,
                title=title or chat_rows.branch_title(self._db.conn, chat),
                user_name=chat.user_name,
                meta={**chat.meta, "branched_from": {"chat_id": chat.id, "message_id": message_id}},
            )
            leaf = tree.copy_path(self._db.conn, message_id, new.id, time.time())
            self._activate(new.id, leaf, time.time())
            return self.get_chat(new.id)

    def delete(self, message_id: int) -> None:
        """Delete a message and everything below it (kept aside until the chat's next delete:
        `restore_deleted` undoes it).

        If the active path ran through it, the chat moves to the branch last visited under its
        parent (a remaining swipe, say), else to the parent itself.
        """
        now = time.time()
        with self.transaction() as conn:
            message = self.get_message(message_id)
            chat = self.get_chat(message.chat_id)
            doomed = tree.subtree_ids(conn, message_id)
            trash.keep(conn, chat.id, doomed, chat.active_leaf_id)
            conn.execute(
                "DELETE FROM messages WHERE id IN (SELECT value FROM json_each(?))",
                (json.dumps(doomed),),
            )
            if chat.active_leaf_id in doomed:
                leaf = (
                    tree.newest_leaf(conn, message.parent_id)
                    if message.parent_id is not None
                    else tree.newest_in_chat(conn, chat.id)
                )
                self._activate(chat.id, leaf, now)
            else:
                self._touch(chat.id, now)

    def restore_deleted(self, chat_id: int) -> None:
        """Undo the chat's last delete: the subtree comes back, and the path the user was on."""
        with self.transaction():
            self.get_chat(chat_id)
            leaf = trash.restore(self._db.conn, chat_id)
            self._activate(chat_id, leaf, time.time())
