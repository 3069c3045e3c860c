"""Checking the chat database for damage, and salvaging what is readable into a new one.

`check` runs SQLite's integrity check, the full-text index's own check and looks for the tables
the schema needs. `repair` never edits the damaged file: it copies every row it can read (chats,
then messages in id order, then edit history and summaries) into a fresh database built by the
normal migrations, rebuilds the search index, then moves the old file aside (renamed, beside it)
and the new one into its place. Rows inside damaged pages are skipped by reading past them one
id at a time; a message whose parent was lost is re-attached under the nearest earlier message
of its chat, so every saved line stays reachable.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.errors import LoreweaverError
from app.memory.store.db import Database, database_error
from app.memory.store.migrations import SCHEMA_VERSION

TABLES = ("chats", "messages", "message_versions", "summaries", "message_search")
PROBES = 100_000
"""Single-id reads a table's damaged ranges may cost before the walk gallops past them."""
BATCH = 256
MAX_PROBLEMS = 20
_SIDECARS = ("-wal", "-shm")


@dataclass
class CheckReport:
    path: Path
    problems: list[str] = field(default_factory=list)
    exists: bool = True

    @property
    def ok(self) -> bool:
        return not self.problems


DAMAGED = (sqlite3.DatabaseError, MemoryError)
"""What reading a damaged file raises. SQLite reports some damage as running out of memory (a
scrambled record or search-index block claiming a huge size: SQLITE_NOMEM, which Python raises
as MemoryError), and that is damage to report and repair, not a reason to stop."""


def _why(exc: BaseException) -> str:
    return str(exc) or "SQLite ran out of memory reading it (a damaged record claims a huge size)"


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=10.0, isolation_level=None)
    conn.row_factory = sqlite3.Row
    return conn


def check(path: Path) -> CheckReport:
    """What is wrong with the database at `path` (nothing is changed)."""
    if not path.exists():
        return CheckReport(path, exists=False)
    report = CheckReport(path)
    try:
        conn = _connect(path)
    except sqlite3.Error as exc:
        report.problems.append(str(exc))
        return report
    try:
        _check_into(conn, report.problems)
    finally:
        conn.close()
    return report


def _check_into(conn: sqlite3.Connection, problems: list[str]) -> None:
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        rows = conn.execute(f"PRAGMA integrity_check({MAX_PROBLEMS})").fetchall()
        problems.extend(str(row[0]) for row in rows if row[0] != "ok")
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    except DAMAGED as exc:
        problems.append(_why(exc))
        return
    if version > SCHEMA_VERSION:
        problems.append(f"schema version {version} is newer than this Loreweaver knows")
        return
    if version == SCHEMA_VERSION:
        problems.extend(f"table {name} is missing" for name in TABLES if name not in names)
    if "message_search" in names:
        try:
            conn.execute("BEGIN")
            conn.execute("INSERT INTO message_search(message_search) VALUES ('integrity-check')")
        except DAMAGED as exc:
            problems.append(f"search index: {_why(exc)}")
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")


@dataclass
class RepairReport:
    old_path: Path
    """Where the damaged file now is (renamed beside the new one)."""
    new_path: Path
    saved: dict[str, int] = field(default_factory=dict)
    unreadable: dict[str, int] = field(default_factory=dict)
    """Rows (by id) that exist in the damaged file but could not be read, per table."""
    dropped: dict[str, int] = field(default_factory=dict)
    """Rows read but left out because what they belong to was lost (a chat, a message)."""
    reattached: int = 0
    """Messages whose parent was lost, re-attached under the nearest earlier message."""
    recreated: int = 0
    """Chats whose own row was lost, re-created (as `recovered`) to hold their messages."""
    broken: list[str] = field(default_factory=list)
    """Tables that could not be read at all, or past some point."""


def _rows(conn: sqlite3.Connection, table: str, report: RepairReport) -> Iterator[sqlite3.Row]:
    """Every readable row of `table` in rowid order; damaged ranges are stepped over id by id.

    The work is bounded whatever the damage: a scrambled page can claim a rowid near 2**63, so
    past `PROBES` single-id reads the walk gallops (doubling steps) to the next readable range,
    and a batch whose rowids do not move forward ends the table (its index is damaged)."""
    query = f"SELECT rowid AS _rowid, * FROM {table} WHERE rowid > ? ORDER BY rowid LIMIT {BATCH}"
    try:
        top = conn.execute(f"SELECT max(rowid) FROM {table}").fetchone()[0]
    except DAMAGED:
        top = None
    last, step, probes = 0, BATCH, 0
    while True:
        try:
            batch = conn.execute(query, (last,)).fetchall()
        except DAMAGED:
            if top is None or last >= top:
                report.broken.append(table)
                return
            if probes >= PROBES:
                last, step = min(last + step, top), step * 2
                continue
            end = min(last + BATCH, top)
            probes += end - last
            for rowid in range(last + 1, end + 1):
                try:
                    row = conn.execute(
                        f"SELECT rowid AS _rowid, * FROM {table} WHERE rowid = ?", (rowid,)
                    ).fetchone()
                except DAMAGED:
                    report.unreadable[table] = report.unreadable.get(table, 0) + 1
                    continue
                if row is not None:
                    yield row
            last = end
            continue
        if not batch:
            return
        if batch[-1]["_rowid"] <= last:
            report.broken.append(table)
            return
        step = BATCH
        yield from batch
        last = batch[-1]["_rowid"]


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]


def _insert(conn: sqlite3.Connection, table: str, columns: list[str], row: dict[str, Any]) -> bool:
    names = [name for name in columns if name in row]
    try:
        conn.execute(
            f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
            [row[name] for name in names],
        )
    except sqlite3.Error:
        return False
    return True


def _side_paths(path: Path) -> list[Path]:
    return [path, *(path.with_name(path.name + suffix) for suffix in _SIDECARS)]


def repair(path: Path) -> RepairReport:
    """Salvage `path` into a new database at the same path; the old file is kept renamed."""
    if not path.exists():
        raise LoreweaverError("no chat database to repair", path=path)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    staging = path.with_name(f"{path.name}.repairing")
    for leftover in _side_paths(staging):
        leftover.unlink(missing_ok=True)
    report = RepairReport(old_path=path.with_name(f"{path.name}.damaged-{stamp}"), new_path=path)
    try:
        old = _connect(path)
    except sqlite3.Error as exc:
        raise database_error(exc, path) from None
    new = Database(staging)
    try:
        with new.write() as conn:
            _salvage(old, conn, report)
        new.rebuild_search_index()
    finally:
        new.close()
        old.close()
    try:
        for source, kept in zip(_side_paths(path), _side_paths(report.old_path), strict=True):
            if source.exists():
                os.replace(source, kept)
        os.replace(staging, path)
    except OSError as exc:
        raise LoreweaverError(
            f"cannot move the repaired database into place: {exc.strerror}", path=path
        ) from None
    for leftover in _side_paths(staging)[1:]:
        leftover.unlink(missing_ok=True)
    return report


def _recreate_chat(new: sqlite3.Connection, chat_id: int, message: dict[str, Any]) -> bool:
    """A placeholder row for a chat that was lost while its messages survived."""
    stamp = message.get("created_at") if isinstance(message.get("created_at"), float) else 0.0
    try:
        new.execute(
            "INSERT INTO chats (id, character_id, title, user_name, created_at, updated_at) "
            "VALUES (?, 'recovered', ?, 'User', ?, ?)",
            (chat_id, f"recovered chat {chat_id}", stamp, stamp),
        )
    except sqlite3.Error:
        return False
    return True


def _salvage(old: sqlite3.Connection, new: sqlite3.Connection, report: RepairReport) -> None:
    chats: set[int] = set()
    leaves: dict[int, int | None] = {}
    columns = _columns(new, "chats")
    for row in _rows(old, "chats", report):
        data = dict(row)
        leaves[int(data["id"])] = data.get("active_leaf_id")
        data["active_leaf_id"] = None
        if _insert(new, "chats", columns, data):
            chats.add(int(data["id"]))

    messages: dict[int, tuple[int, int]] = {}  # id → (chat id, depth)
    newest: dict[int, int] = {}  # chat id → newest saved message id
    columns = _columns(new, "messages")
    for row in _rows(old, "messages", report):
        data = dict(row)
        chat_id = data.get("chat_id")
        if not isinstance(chat_id, int) or (
            chat_id not in chats and not _recreate_chat(new, chat_id, data)
        ):
            report.dropped["messages"] = report.dropped.get("messages", 0) + 1
            continue
        if chat_id not in chats:
            chats.add(chat_id)
            report.recreated += 1
        parent = data.get("parent_id")
        if parent is not None and (not isinstance(parent, int) or parent not in messages):
            parent = newest.get(chat_id)
            report.reattached += 1
        data["parent_id"] = parent
        data["depth"] = 0 if parent is None else messages[parent][1] + 1
        if _insert(new, "messages", columns, data):
            messages[int(data["id"])] = (chat_id, data["depth"])
            newest[chat_id] = int(data["id"])
        else:
            report.dropped["messages"] = report.dropped.get("messages", 0) + 1
    report.saved["chats"] = len(chats)
    report.saved["messages"] = len(messages)

    for chat_id in chats:
        leaf = leaves.get(chat_id)
        if leaf not in messages or messages[leaf][0] != chat_id:
            leaf = newest.get(chat_id)
        new.execute("UPDATE chats SET active_leaf_id = ? WHERE id = ?", (leaf, chat_id))

    for table, needs in (
        ("message_versions", ("message_id",)),
        ("summaries", ("first_message_id", "last_message_id")),
    ):
        columns = _columns(new, table)
        saved = 0
        for row in _rows(old, table, report):
            data = dict(row)
            if all(data.get(key) in messages for key in needs) and _insert(
                new, table, columns, data
            ):
                saved += 1
            else:
                report.dropped[table] = report.dropped.get(table, 0) + 1
        report.saved[table] = saved
