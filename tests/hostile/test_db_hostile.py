"""Damaged chat databases: every command says one clear line, `chats check` finds the damage,
`chats repair` salvages into a new database (the old file kept), and a user's line is never lost.

Damage is generated (zeroed and scrambled pages across the file, truncations, foreign files,
dropped tables, a broken search index, homes that cannot be created) and run in batches through
the real CLI under time and memory limits; counts per class are printed (run with `-s`).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import zipfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from hostile.harness import Outcome, run_batch, run_limited, tree_digest

from app.home import Home
from app.memory.store import ChatStore

PAGE = 4096
Damage = Callable[[Path], object]


def _zero(page: int) -> Damage:
    def damage(db: Path) -> None:
        with db.open("r+b") as handle:
            handle.seek((page - 1) * PAGE)
            handle.write(b"\0" * PAGE)

    return damage


def _scramble(page: int) -> Damage:
    def damage(db: Path) -> None:
        with db.open("r+b") as handle:
            handle.seek((page - 1) * PAGE + 100)
            handle.write(os.urandom(PAGE - 200))

    return damage


def _truncate(fraction: float) -> Damage:
    return lambda db: os.truncate(db, int(db.stat().st_size * fraction))


def _sql(*statements: str) -> Damage:
    def damage(db: Path) -> None:
        conn = sqlite3.connect(db)
        for statement in statements:
            conn.execute(statement)
        conn.commit()
        conn.close()

    return damage


def _replace(data: bytes) -> Damage:
    return lambda db: db.write_bytes(data)


def _base(root: Path) -> Path:
    """A home with three chats of 60 messages (one edited), checkpointed into the main file."""
    home = Home(root).ensure()
    with ChatStore.open(home) as store:
        for number in range(3):
            chat = store.create_chat("brenna")
            for index in range(60):
                role = "user" if index % 2 == 0 else "assistant"
                last = store.add_message(
                    chat.id, role, f"chat {number} line {index} " + "words " * 30
                )
            store.edit(last.id, "an edited last line")
    conn = sqlite3.connect(home.database)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return home.database


def _damages(pages: int) -> dict[str, Damage]:
    found: dict[str, Damage] = {}
    for page in sorted({1, 2, 3, 4, 5, 8, 13, 21, 34, pages // 2, pages - 1, pages}):
        if 1 <= page <= pages:
            found[f"zeroed page {page}"] = _zero(page)
    for page in sorted({2, pages // 3, pages - 2}):
        found[f"scrambled page {page}"] = _scramble(page)
    for fraction in (0.1, 0.5, 0.9, 0.999):
        found[f"truncated to {fraction:.0%}"] = _truncate(fraction)
    found["random bytes"] = _replace(os.urandom(pages * PAGE))
    found["a text file"] = _replace(b"these are my notes, not a database\n")
    found["header only"] = _replace(b"SQLite format 3\0" + b"\xff" * 84)
    for table in ("chats", "messages", "message_versions", "summaries", "message_search"):
        found[f"dropped {table}"] = _sql(f"DROP TABLE {table}")
    found["search index scrambled"] = _sql(
        "UPDATE message_search_data SET block = randomblob(length(block)) WHERE id > 1"
    )
    found["search index rows deleted"] = _sql("DELETE FROM message_search_data WHERE id > 10")
    return found


def _count(kind: str, outcomes: list[Outcome]) -> Counter[str]:
    counts = Counter(outcome.verdict() for outcome in outcomes)
    print(f"\nHOSTILE db/{kind}: {len(outcomes)} cases, {dict(counts)}")
    bad = [outcome for outcome in outcomes if outcome.verdict() not in ("ok", "error")]
    assert not bad, "\n".join(outcome.describe() for outcome in bad[:5])
    return counts


def _line_stored(home: Path, line: str) -> bool:
    """The line is in the chat database (where it can still be read) or in unsaved-lines.txt."""
    unsaved = home / "unsaved-lines.txt"
    if unsaved.exists() and line in unsaved.read_text(encoding="utf-8"):
        return True
    try:
        conn = sqlite3.connect(home / "loreweaver.sqlite3")
        try:
            return bool(
                conn.execute("SELECT 1 FROM messages WHERE content = ?", (line,)).fetchone()
            )
        finally:
            conn.close()
    except sqlite3.Error:
        return False


def test_damaged_databases(tmp_path: Path) -> None:
    base = _base(tmp_path / "base")
    damages = _damages(base.stat().st_size // PAGE)
    homes: dict[str, Path] = {}
    for number, (label, damage) in enumerate(damages.items()):
        home = tmp_path / f"home{number}"
        shutil.copytree(base.parent, home)
        damage(home / base.name)
        homes[label] = home

    def env(home: Path) -> dict[str, str]:
        return {"LOREWEAVER_HOME": str(home)}

    # `chat` loads the model and builds a real prompt (tens of seconds on a busy machine): it
    # runs on damage found at open and on damage found only while the chat goes on.
    chatting = (
        "zeroed page 1",
        "a text file",
        "truncated to 50%",
        "dropped summaries",
        "search index scrambled",
        "search index rows deleted",
    )
    first: list[tuple[list[str], dict[str, str]]] = []
    lines: dict[str, str] = {}
    for number, (label, home) in enumerate(homes.items()):
        first += [
            (["chats", "list"], env(home)),
            (["chats", "show", "2"], env(home)),
            (["chats", "check"], env(home)),
        ]
        if label in chatting:
            lines[label] = f"a line that must survive {number}"
            first.append(
                (["chat", "brenna", "--say", lines[label], "--max-tokens", "1"], env(home))
            )
    outcomes = run_batch(first, timeout=900)
    _count("damaged: list, show, check, chat", outcomes)
    checks = [o for o in outcomes if o.args == ("chats", "check")]
    for label, check in zip(homes, checks, strict=True):
        if label.startswith("scrambled"):
            continue  # bytes inside a record are text that changed, not a broken structure
        assert check.verdict() == "error", f"{label}: chats check found nothing"
        assert "chats repair" in check.error_lines[0]
    for label, line in lines.items():
        assert _line_stored(homes[label], line), f"{label}: the user's line was lost"
    healed = [
        o for o in outcomes if o.args[0] == "chat" and lines["search index rows deleted"] in o.args
    ]
    assert healed[0].verdict() == "ok", (
        "a broken index is rebuilt from the messages and the chat goes on: " + healed[0].describe()
    )

    second = []
    for home in homes.values():
        second += [
            (["chats", "repair"], env(home)),
            (["chats", "check"], env(home)),
            (["chats", "list"], env(home)),
        ]
    repaired = run_batch(second, timeout=300)
    counts = _count("repair, check, list", repaired)
    assert counts["ok"] == len(second), "repair always succeeds and leaves a healthy database"
    salvaged: Counter[str] = Counter()
    for (label, home), repair in zip(homes.items(), repaired[::3], strict=True):
        kept = [p for p in home.iterdir() if ".damaged-" in p.name]
        assert kept, f"{label}: the damaged file was not kept"
        saved = int(repair.stdout.split(" messages")[0].rsplit(" ", 1)[1])
        salvaged["all" if saved >= 180 else "some" if saved else "none"] += 1
        if label.startswith(("search index", "dropped summaries", "dropped message_versions")):
            assert saved >= 180, f"{label}: {repair.stdout}"
    print(f"HOSTILE db/salvage: {dict(salvaged)}")


@pytest.mark.parametrize("where", ["under a file", "unreachable"])
def test_a_home_that_cannot_be_created_is_one_line(tmp_path: Path, where: str) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    root = blocker / "home" if where == "under a file" else Path("/proc/loreweaver-home")
    env = {"LOREWEAVER_HOME": str(root)}
    card = tmp_path / "card.json"
    card.write_text('{"name": "Tam", "description": "d", "first_mes": "Hi."}', encoding="utf-8")
    cases = [
        (["chats", "list"], env),
        (["chat", "brenna", "--say", "hello", "--max-tokens", "1"], env),
        (["characters", "import", str(card)], env),
        (["chats", "check"], env),
        (["chats", "repair"], env),
    ]
    outcomes = run_batch(cases)
    _count(f"home {where}", outcomes)
    for outcome in outcomes[:3]:
        assert outcome.verdict() == "error" and str(root.parent) in outcome.error_lines[0]


def test_a_full_disk_is_one_line_and_keeps_the_line(tmp_path: Path) -> None:
    """No file may grow past the database's size: SQLite and the import both hit EFBIG."""
    base = _base(tmp_path / "home")
    home = base.parent
    env = {"LOREWEAVER_HOME": str(home)}
    card = tmp_path / "card.charx"
    with zipfile.ZipFile(card, "w") as archive:
        archive.writestr(
            "card.json",
            json.dumps(
                {
                    "spec": "chara_card_v3",
                    "spec_version": "3.0",
                    "data": {"name": "Tam", "description": "d", "first_mes": "Hi."},
                }
            ),
        )
        archive.writestr("assets/big.bin", os.urandom(20_000))  # more than any file may grow
    before = tree_digest(home)
    outcomes = [
        run_limited("characters", "import", str(card), env=env, file_size=4096),
        run_limited(
            "chat",
            "brenna",
            "--say",
            "a line on a full disk",
            "--max-tokens",
            "1",
            env=env,
            file_size=base.stat().st_size,
        ),
    ]
    _count("full disk", outcomes)
    assert outcomes[0].verdict() == "error"
    assert {k: v for k, v in tree_digest(home).items() if k.startswith("characters")} == {
        k: v for k, v in before.items() if k.startswith("characters")
    }
    if outcomes[1].verdict() == "error":
        assert _line_stored(home, "a line on a full disk")


def test_a_damaged_table_claiming_a_huge_rowid_is_repaired_in_bounded_time(tmp_path: Path) -> None:
    """A file a scrambled page left behind (found by this module's random damage, kept as
    data): the chats table's highest rowid reads as 18,181,284,620 while a scan of it fails, so
    stepping over the damage id by id to that rowid never ended. Repair must finish, keep what
    it can read and say so in its lines."""
    home = Home(tmp_path / "home").ensure()
    shutil.copyfile(Path(__file__).parent / "data" / "huge_rowid_damaged.sqlite3", home.database)
    outcome = run_limited("chats", "repair", env={"LOREWEAVER_HOME": str(home.root)}, timeout=60)
    assert outcome.verdict() == "ok", outcome.describe()
    assert "180 messages" in outcome.stdout
    assert any(".damaged-" in p.name for p in home.root.iterdir())


def test_a_search_index_that_reads_as_out_of_memory_is_damage_to_repair(tmp_path: Path) -> None:
    """A file this module's random damage left behind (kept as data): a scrambled search-index
    block claims a huge size, and SQLite reports reading it as running out of memory, with no
    code saying where. That is damage to name, with the way out, and the user's line is kept."""
    home = Home(tmp_path / "home").ensure()
    shutil.copyfile(Path(__file__).parent / "data" / "search_index_nomem.sqlite3", home.database)
    env = {"LOREWEAVER_HOME": str(home.root)}
    say = ["chat", "brenna", "--say", "a line that must survive", "--max-tokens", "1"]
    check, chat = run_batch([(["chats", "check"], env), (say, env)], timeout=300)
    assert check.verdict() == "error", check.describe()
    assert "search index" in check.stdout and "chats repair" in check.error_lines[0]
    assert chat.verdict() == "error", chat.describe()
    assert len(chat.error_lines) == 1 and "search index is damaged" in chat.error_lines[0]
    assert "out of memory" not in chat.error_lines[0].split("(")[0]
    assert _line_stored(home.root, "a line that must survive")
    repair, again = run_batch([(["chats", "repair"], env), (say, env)], timeout=300)
    assert repair.verdict() == "ok" and "180 messages" in repair.stdout, repair.describe()
    assert again.verdict() == "ok", again.describe()
