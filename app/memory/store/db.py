"""The SQLite connection under the chat store: settings, transactions, error translation.

Connection settings, and why:
- WAL journal: readers never block the writer and vice versa, so the TUI can list chats while a
  reply streams in, and two Loreweaver processes can share one home.
- `synchronous=NORMAL`: in WAL mode a commit is durable against a crash of the process (the OS
  already holds the written pages) and the file is never corrupted; only a power cut or OS crash
  can drop the last commits. FULL would fsync the WAL on every streaming checkpoint for nothing.
- `busy_timeout`: a writer waits for another process's short transaction instead of failing.
- Every write is one `BEGIN IMMEDIATE` transaction (the write lock is taken up front, so two
  writers queue instead of deadlocking); an exception rolls it back, never half-writing.
- Foreign keys on: a message can't point at a missing parent or chat.

The connection may be used from several threads (a reply streams from a worker while the UI
reads); a re-entrant lock serialises them.
"""

from __future__ import annotations

import functools
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from app.errors import LoreweaverError
from app.memory.store.migrations import check_supported, migrate

T = TypeVar("T")
BUSY_TIMEOUT_S = 10.0
REPAIR_HINT = "run `loreweaver chats check`, then `loreweaver chats repair` to salvage your chats"


_CORRUPT_VTAB = 267  # SQLITE_CORRUPT_VTAB: the full-text index, not the chats, is damaged


class ChatDatabaseError(LoreweaverError):
    """The chat database failed (damaged, full, read-only, busy): nothing could be stored."""


class SearchIndexDamaged(ChatDatabaseError):
    """Only the full-text index is damaged; it is derived from the messages and can be rebuilt."""


def database_error(exc: sqlite3.Error, path: Path) -> ChatDatabaseError:
    """The one line a user can act on for an SQLite failure, by its result code."""
    extended = getattr(exc, "sqlite_errorcode", None) or 0
    code = extended & 0xFF
    text = str(exc)
    if extended == _CORRUPT_VTAB:
        return SearchIndexDamaged(
            f"chat search index is damaged ({text}); {REPAIR_HINT}", path=path
        )
    if code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB) or text.startswith(
        ("no such table", "no such column")
    ):
        return ChatDatabaseError(f"chat database is damaged ({text}); {REPAIR_HINT}", path=path)
    if code == sqlite3.SQLITE_FULL:
        return ChatDatabaseError(f"cannot save chats, the disk is full ({text})", path=path)
    if code in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM, sqlite3.SQLITE_CANTOPEN):
        return ChatDatabaseError(
            f"cannot open or write the chat database ({text}); check the folder's permissions",
            path=path,
        )
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return ChatDatabaseError(f"chat database is busy ({text}); try again", path=path)
    return ChatDatabaseError(f"chat database error: {text}", path=path)


class _GuardedLock:
    """The connection's re-entrant lock; an SQLite error raised while it is held leaves it as
    one `LoreweaverError` line (damage found mid-read is as clear as damage found on open)."""

    def __init__(self, path: Path) -> None:
        self._lock = threading.RLock()
        self._path = path

    def __enter__(self) -> None:
        self._lock.acquire()

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> None:
        self._lock.release()
        if isinstance(exc, sqlite3.DatabaseError):
            raise database_error(exc, self._path) from None


def dump_json(meta: dict[str, Any] | None) -> str:
    return json.dumps(meta or {}, ensure_ascii=False, allow_nan=False, sort_keys=True)


def load_json(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


class Database:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = _GuardedLock(path)
        self._depth = 0
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(
                path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
        except OSError as exc:
            raise ChatDatabaseError(
                f"cannot create the chat database: {exc.strerror or exc}", path=path
            ) from None
        except sqlite3.Error as exc:
            raise database_error(exc, path) from None
        self.conn.row_factory = sqlite3.Row
        try:
            self.conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            check_supported(self.conn, path=path)
            for pragma in (
                "PRAGMA journal_mode = WAL",
                "PRAGMA synchronous = NORMAL",
                "PRAGMA foreign_keys = ON",
            ):
                self.conn.execute(pragma).fetchall()
            migrate(self.conn, path=path)
        except sqlite3.Error as exc:
            self.conn.close()
            raise database_error(exc, path) from None
        except BaseException:
            self.conn.close()
            raise

    def close(self) -> None:
        with self.lock:
            self.conn.close()

    @property
    def in_write(self) -> bool:
        """Inside a `write()` block (whose failure rolls back the whole outer transaction)."""
        return self._depth > 0

    def rebuild_search_index(self) -> None:
        """Rebuild the full-text index from the messages (it holds nothing else)."""
        with self.write() as conn:
            conn.execute("INSERT INTO message_search(message_search) VALUES ('rebuild')")

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; nested blocks join the outer one, which commits or rolls back."""
        with self.lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self.conn
                finally:
                    self._depth -= 1
                return
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.DatabaseError as exc:
                raise database_error(exc, self.path) from None
            self._depth = 1
            try:
                yield self.conn
            except BaseException:
                self._depth = 0
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise
            self._depth = 0
            try:
                self.conn.execute("COMMIT")
            except sqlite3.DatabaseError:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot for reads that take several statements."""
        with self.lock:
            if self.conn.in_transaction:
                yield self.conn
                return
            self.conn.execute("BEGIN")
            try:
                yield self.conn
            finally:
                if self.conn.in_transaction:
                    self.conn.execute("COMMIT")


def heals_search_index(method: Callable[..., T]) -> Callable[..., T]:
    """For a ChatStore write or search (a method, or a function taking the store first): if only
    the search index is damaged, rebuild it and run again.

    The messages are the truth and the index is derived from them, so a user's line is never
    refused because the index broke. Inside an outer transaction the error propagates (that
    transaction is rolled back whole; its owner decides).
    """

    @functools.wraps(method)
    def healing(self: Any, *args: Any, **kwargs: Any) -> T:
        try:
            return method(self, *args, **kwargs)
        except SearchIndexDamaged:
            if self._db.in_write:
                raise
        except MemoryError:
            if self._db.in_write or not _index_damaged(self._db):
                raise
        try:
            self._db.rebuild_search_index()
        except MemoryError:  # too damaged for SQLite to rebuild in place: repair copies it anew
            raise SearchIndexDamaged(
                f"chat search index is damaged (SQLite runs out of memory reading it); "
                f"{REPAIR_HINT}",
                path=self._db.path,
            ) from None
        return method(self, *args, **kwargs)

    return healing


def _index_damaged(db: Database) -> bool:
    """Whether the full-text index fails its own check. SQLite reports some index damage (a
    scrambled block claiming a huge size) as running out of memory, with no code saying where:
    the check tells that from a real shortage."""
    try:
        with db.read() as conn:
            conn.execute("INSERT INTO message_search(message_search) VALUES ('integrity-check')")
    except (ChatDatabaseError, MemoryError):
        return True
    return False
