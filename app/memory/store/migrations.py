"""The chat database's schema, as numbered steps applied in order.

Step N (the N-th function in `MIGRATIONS`) takes a database from version N-1 to N; the version
lives in `PRAGMA user_version`. Each step runs in its own `BEGIN IMMEDIATE` transaction together
with the version bump, so a crash mid-upgrade leaves the previous version intact, and two
processes opening an old database at once upgrade it once (the second sees the new version
inside its transaction and skips). Never edit a released step: add a new one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from app.errors import LoreweaverError

Migration = Callable[[sqlite3.Connection], None]


def _run(conn: sqlite3.Connection, *statements: str) -> None:
    for statement in statements:
        conn.execute(statement)


def _001_chats_and_messages(conn: sqlite3.Connection) -> None:
    """Chats, and their messages as a tree (swipes and branches are siblings), with edit history.

    Tree links are deferred foreign keys without cascades: a subtree is deleted in one statement
    (a cascade would recurse once per level and fail on long chats), and the check at COMMIT
    still refuses a dangling parent or leaf.
    """
    _run(
        conn,
        """
        CREATE TABLE chats (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            character_id TEXT NOT NULL,
            title TEXT,
            user_name TEXT NOT NULL,
            meta TEXT NOT NULL DEFAULT '{}',
            active_leaf_id INTEGER REFERENCES messages(id) DEFERRABLE INITIALLY DEFERRED,
            activations INTEGER NOT NULL DEFAULT 0,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        )
        """,
        "CREATE INDEX chats_by_character ON chats(character_id, updated_at)",
        """
        CREATE TABLE messages (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            chat_id INTEGER NOT NULL REFERENCES chats(id) DEFERRABLE INITIALLY DEFERRED,
            parent_id INTEGER REFERENCES messages(id) DEFERRABLE INITIALLY DEFERRED,
            depth INTEGER NOT NULL CHECK (depth >= 0),
            role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
            name TEXT,
            content TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'complete'
                CHECK (status IN ('streaming', 'complete', 'cancelled', 'interrupted')),
            writer TEXT,
            meta TEXT NOT NULL DEFAULT '{}',
            activated INTEGER NOT NULL DEFAULT 0,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        )
        """,
        "CREATE INDEX messages_by_parent ON messages(chat_id, parent_id)",
        "CREATE INDEX messages_by_parent_id ON messages(parent_id)",
        "CREATE INDEX messages_streaming ON messages(status) WHERE status = 'streaming'",
        """
        CREATE TABLE message_versions (
            id INTEGER PRIMARY KEY,
            message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
            content TEXT NOT NULL,
            replaced_at REAL NOT NULL
        )
        """,
        "CREATE INDEX versions_by_message ON message_versions(message_id, id)",
    )


def _002_summaries(conn: sqlite3.Connection) -> None:
    """Summaries of a span of messages (level 0) or of lower-level summaries (level n + 1).

    The span is given by its first and last message; deleting either end drops the summary,
    which no longer describes what the chat holds.
    """
    _run(
        conn,
        """
        CREATE TABLE summaries (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
            level INTEGER NOT NULL DEFAULT 0 CHECK (level >= 0),
            first_message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
            last_message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
            content TEXT NOT NULL,
            meta TEXT NOT NULL DEFAULT '{}',
            created_at REAL NOT NULL
        )
        """,
        "CREATE INDEX summaries_by_chat ON summaries(chat_id, level, last_message_id)",
        "CREATE INDEX summaries_by_first ON summaries(first_message_id)",
        "CREATE INDEX summaries_by_last ON summaries(last_message_id)",
    )


def _003_message_search(conn: sqlite3.Connection) -> None:
    """A full-text index over message text (BM25 retrieval), kept in step by triggers.

    External-content FTS5: the text is stored once, in `messages`; the triggers feed the index
    the exact old text on update and delete, which external-content tables require.
    """
    _run(
        conn,
        "ALTER TABLE messages ADD COLUMN importance REAL NOT NULL DEFAULT 0",
        """
        CREATE VIRTUAL TABLE message_search USING fts5(
            content, content='messages', content_rowid='id',
            tokenize='unicode61 remove_diacritics 2'
        )
        """,
        """
        CREATE TRIGGER message_search_insert AFTER INSERT ON messages BEGIN
            INSERT INTO message_search(rowid, content) VALUES (new.id, new.content);
        END
        """,
        """
        CREATE TRIGGER message_search_delete AFTER DELETE ON messages BEGIN
            INSERT INTO message_search(message_search, rowid, content)
                VALUES ('delete', old.id, old.content);
        END
        """,
        """
        CREATE TRIGGER message_search_update AFTER UPDATE OF content ON messages BEGIN
            INSERT INTO message_search(message_search, rowid, content)
                VALUES ('delete', old.id, old.content);
            INSERT INTO message_search(rowid, content) VALUES (new.id, new.content);
        END
        """,
        "INSERT INTO message_search(message_search) VALUES ('rebuild')",
    )


def _004_failed_status(conn: sqlite3.Connection) -> None:
    """A reply can be `failed`: its prompt could not be built or the engine refused to start,
    with the reason in its metadata (the user's line above it is kept).

    Widening a CHECK list changes no stored row, so this uses SQLite's documented in-place
    schema edit (writable_schema + a schema_version bump) instead of copying the table.
    """
    version = int(conn.execute("PRAGMA schema_version").fetchone()[0])
    conn.execute("PRAGMA writable_schema = ON")
    try:
        conn.execute(
            "UPDATE sqlite_schema SET sql = replace(sql, ?, ?) WHERE type = 'table' "
            "AND name = 'messages'",
            ("'cancelled', 'interrupted')", "'cancelled', 'interrupted', 'failed')"),
        )
        conn.execute(f"PRAGMA schema_version = {version + 1:d}")
    finally:
        conn.execute("PRAGMA writable_schema = OFF")


def _005_deleted_subtrees(conn: sqlite3.Connection) -> None:
    """The last deleted subtree of each chat, whole, so that a delete can be undone."""
    _run(
        conn,
        """
        CREATE TABLE deleted_subtrees (
            chat_id INTEGER PRIMARY KEY REFERENCES chats(id) ON DELETE CASCADE,
            record TEXT NOT NULL,
            deleted_at REAL NOT NULL
        )
        """,
    )


def _006_authors_notes_and_bookmarks(conn: sqlite3.Connection) -> None:
    """A chat's author's note (one per chat), and named bookmarks on its messages.

    Both go with what they hang on: deleting the chat drops its note, deleting a message drops
    the bookmarks on it (a bookmark on a deleted message would lead nowhere).
    """
    _run(
        conn,
        """
        CREATE TABLE authors_notes (
            chat_id INTEGER PRIMARY KEY REFERENCES chats(id) ON DELETE CASCADE,
            text TEXT NOT NULL,
            depth INTEGER NOT NULL DEFAULT 0 CHECK (depth >= 0),
            frequency INTEGER NOT NULL DEFAULT 1 CHECK (frequency >= 0),
            role TEXT NOT NULL DEFAULT 'system' CHECK (role IN ('system', 'user', 'assistant'))
        )
        """,
        """
        CREATE TABLE bookmarks (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
            message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            created_at REAL NOT NULL,
            UNIQUE (chat_id, name)
        )
        """,
        "CREATE INDEX bookmarks_by_message ON bookmarks(message_id)",
    )


def _007_message_tokens(conn: sqlite3.Connection) -> None:
    """Each message's token count per tokenizer, so a long chat's window is found without
    re-tokenizing its whole path at every open; a changed text drops its stale counts."""
    _run(
        conn,
        """
        CREATE TABLE message_tokens (
            message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
            tokenizer TEXT NOT NULL,
            tokens INTEGER NOT NULL,
            PRIMARY KEY (tokenizer, message_id)
        ) WITHOUT ROWID
        """,
        "CREATE INDEX message_tokens_by_message ON message_tokens(message_id)",
        """
        CREATE TRIGGER message_tokens_stale AFTER UPDATE OF content ON messages BEGIN
            DELETE FROM message_tokens WHERE message_id = old.id;
        END
        """,
    )


MIGRATIONS: tuple[Migration, ...] = (
    _001_chats_and_messages,
    _002_summaries,
    _003_message_search,
    _004_failed_status,
    _005_deleted_subtrees,
    _006_authors_notes_and_bookmarks,
    _007_message_tokens,
)
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def check_supported(conn: sqlite3.Connection, *, path: Path) -> int:
    """The database's version; a clear error if a newer Loreweaver wrote it (nothing is changed)."""
    found = schema_version(conn)
    if found > SCHEMA_VERSION:
        raise LoreweaverError(
            f"chat database is at schema version {found}, newer than this Loreweaver knows "
            f"({SCHEMA_VERSION}); upgrade Loreweaver to open it",
            path=path,
        )
    return found


def migrate(conn: sqlite3.Connection, *, path: Path, target: int = SCHEMA_VERSION) -> list[int]:
    """Bring the database up to `target`; return the steps this call applied.

    `conn` must be in autocommit mode (`isolation_level=None`): each step owns its transaction.
    """
    found = check_supported(conn, path=path)
    applied: list[int] = []
    for number in range(found + 1, target + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            if schema_version(conn) < number:
                MIGRATIONS[number - 1](conn)
                conn.execute(f"PRAGMA user_version = {number:d}")
                applied.append(number)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return applied
