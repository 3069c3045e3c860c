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

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from app.errors import LoreweaverError
from app.memory.migrations import check_supported, migrate

BUSY_TIMEOUT_S = 10.0


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
        self.lock = threading.RLock()
        self._depth = 0
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(
                path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as exc:
            raise LoreweaverError(f"cannot open chat database: {exc}", path=path) from None
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
            raise LoreweaverError(f"cannot open chat database: {exc}", path=path) from None
        except BaseException:
            self.conn.close()
            raise

    def close(self) -> None:
        with self.lock:
            self.conn.close()

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
            except sqlite3.OperationalError as exc:
                raise LoreweaverError(
                    f"chat database is busy or unwritable ({exc})", path=self.path
                ) from None
            self._depth = 1
            try:
                yield self.conn
            except BaseException as exc:
                self._depth = 0
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.OperationalError):
                    raise LoreweaverError(f"chat database error: {exc}", path=self.path) from None
                raise
            self._depth = 0
            try:
                self.conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise LoreweaverError(f"chat database error: {exc}", path=self.path) from None

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
