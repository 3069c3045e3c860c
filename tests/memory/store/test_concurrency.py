"""Two Loreweaver processes writing to one home at the same time."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap

from support import REPO

from app.home import Home
from app.memory.store import ChatStore

WRITER = textwrap.dedent(
    """
    import sys
    import time
    from app.home import home
    from app.memory.store import ChatStore

    store = ChatStore.open(home())
    chat = store.create_chat(sys.argv[1])
    print(chat.id, flush=True)
    sys.stdin.readline()  # wait for the starting gun so both write at once
    for n in range(200):
        store.add_message(chat.id, "user" if n % 2 == 0 else "assistant", f"{sys.argv[1]} {n}")
        if n % 50 == 0:
            store.list_chats()
        time.sleep(0.002)  # a little work between writes, as a real session has
    store.close()
    print("done", flush=True)
    """
)


def test_two_processes_append_at_once(lw_home: Home) -> None:
    ChatStore.open(lw_home).close()  # both children open an existing, current database
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, name],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env=dict(os.environ),
        )
        for name in ("brenna", "kestrel")
    ]
    chat_ids = []
    for proc in procs:
        assert proc.stdout is not None
        chat_ids.append(int(proc.stdout.readline()))
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert out.strip() == "done"

    conn = sqlite3.connect(lw_home.database)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    conn.close()
    with ChatStore.open(lw_home) as store:
        for chat_id, name in zip(chat_ids, ("brenna", "kestrel"), strict=True):
            path = store.active_path(chat_id)
            assert [m.content for m in path] == [f"{name} {n}" for n in range(200)]
        assert sorted(c.message_count for c in store.list_chats()) == [200, 200]
        first, second = ([m.id for m in store.active_path(c)] for c in chat_ids)
    # The writes really overlapped in time: each chat's ids straddle some of the other's.
    assert min(first) < max(second) and min(second) < max(first)
