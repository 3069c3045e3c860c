"""Is the process that was streaming a reply still alive?

A reply row in status `streaming` carries its writer's token (host, pid, process start time). On
open, the store asks whether that writer still runs: a dead writer's reply becomes `interrupted`,
a live one (another Loreweaver on the same home) is left alone. The start time guards against a
recycled pid; a zombie counts as dead.
"""

from __future__ import annotations

import json
import os
import socket
import time

from app.memory.store.db import Database

STALE_S = 600.0
"""A row from another host is only judged by age: no writer stays silent this long."""


def _stat_fields(pid: int) -> list[str] | None:
    """`/proc/PID/stat` after the command name (which may hold spaces), or None off Linux."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            raw = handle.read()
    except OSError:
        return None
    return raw[raw.rfind(")") + 2 :].split()


def process_token(pid: int | None = None) -> str:
    pid = os.getpid() if pid is None else pid
    fields = _stat_fields(pid)
    start = fields[19] if fields is not None and len(fields) > 19 else ""
    return f"{socket.gethostname()}:{pid}:{start}"


def writer_alive(token: str | None, *, age_s: float) -> bool:
    """Whether the writer named by `token` may still be writing (unknown → judged by age)."""
    if not token:
        return age_s < STALE_S
    parts = token.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return age_s < STALE_S
    host, pid_text, start = parts
    if host != socket.gethostname():
        return age_s < STALE_S
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    fields = _stat_fields(pid)
    if fields is None:
        return True
    if fields and fields[0] == "Z":
        return False
    return not start or (len(fields) > 19 and fields[19] == start)


def interrupt_dead_writers(db: Database) -> list[int]:
    """Mark replies left `streaming` by a process that no longer runs as `interrupted`."""
    now = time.time()
    with db.lock:
        rows = db.conn.execute(
            "SELECT id, writer, updated_at FROM messages WHERE status = 'streaming'"
        ).fetchall()
    dead = [
        int(row["id"])
        for row in rows
        if not writer_alive(row["writer"], age_s=now - row["updated_at"])
    ]
    if dead:
        with db.write() as conn:
            conn.execute(
                "UPDATE messages SET status = 'interrupted', writer = NULL "
                "WHERE status = 'streaming' AND id IN (SELECT value FROM json_each(?))",
                (json.dumps(dead),),
            )
    return dead
