"""Schema versions: old databases upgrade with their data, newer ones are refused clearly."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from app.errors import LoreweaverError
from app.home import Home
from app.memory.recall import search
from app.memory.store import SCHEMA_VERSION, ChatStore, migrate, schema_version


def _database_at(path: Path, version: int) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    assert migrate(conn, path=path, target=version) == list(range(1, version + 1))
    return conn


def _tables(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    conn.close()
    return names


def test_a_new_database_is_at_the_latest_version(lw_home: Home) -> None:
    ChatStore.open(lw_home).close()
    conn = sqlite3.connect(lw_home.database)
    assert schema_version(conn) == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    assert {"chats", "messages", "message_versions", "summaries", "message_search"} <= _tables(
        lw_home.database
    )


def test_a_version_1_database_upgrades_with_its_data(lw_home: Home) -> None:
    conn = _database_at(lw_home.database, 1)
    conn.execute(
        "INSERT INTO chats (id, character_id, title, user_name, created_at, updated_at) "
        "VALUES (1, 'brenna', 'Old chat', 'Ash', 1.0, 2.0)"
    )
    for id_, parent, role, text in [
        (1, None, "user", "Any blades for sale?"),
        (2, 1, "assistant", "A fine longsword, forged at dawn."),
    ]:
        conn.execute(
            "INSERT INTO messages (id, chat_id, parent_id, depth, role, content, created_at, "
            "updated_at) VALUES (?, 1, ?, ?, ?, ?, 1.0, 1.0)",
            (id_, parent, 0 if parent is None else 1, role, text),
        )
    conn.execute("UPDATE chats SET active_leaf_id = 2 WHERE id = 1")
    conn.close()
    assert "summaries" not in _tables(lw_home.database)

    with ChatStore.open(lw_home) as store:
        path = store.active_path(1)
        assert [m.content for m in path] == [
            "Any blades for sale?",
            "A fine longsword, forged at dawn.",
        ]
        assert store.get_chat(1).title == "Old chat"
        assert path[1].importance == 0.0
        # The search index was built for the rows that predate it.
        assert [m.id for m in search(store, 1, "longsword")] == [2]
        added = store.add_message(1, "user", "How much?")
        assert added.parent_id == 2
    conn = sqlite3.connect(lw_home.database)
    assert schema_version(conn) == SCHEMA_VERSION
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


@pytest.mark.parametrize("version", range(0, SCHEMA_VERSION))
def test_every_older_version_upgrades(lw_home: Home, version: int) -> None:
    _database_at(lw_home.database, version).close()
    with ChatStore.open(lw_home) as store:
        chat = store.create_chat("brenna")
        store.add_message(chat.id, "user", "Hello anvil.")
        assert [m.content for m in search(store, chat.id, "anvil")] == ["Hello anvil."]
    conn = sqlite3.connect(lw_home.database)
    assert schema_version(conn) == SCHEMA_VERSION
    conn.close()


def test_a_database_from_a_newer_loreweaver_is_refused(lw_home: Home) -> None:
    conn = _database_at(lw_home.database, SCHEMA_VERSION)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    before = lw_home.database.read_bytes()
    with pytest.raises(LoreweaverError) as caught:
        ChatStore.open(lw_home)
    message = str(caught.value)
    assert "\n" not in message
    assert str(lw_home.database) in message
    assert f"schema version {SCHEMA_VERSION + 1}" in message and "upgrade Loreweaver" in message
    assert lw_home.database.read_bytes() == before


def test_a_file_that_is_not_a_database_is_a_clear_error(lw_home: Home) -> None:
    lw_home.database.write_bytes(b"these are not the tables you are looking for" * 100)
    with pytest.raises(LoreweaverError) as caught:
        ChatStore.open(lw_home)
    assert "\n" not in str(caught.value)
    assert str(lw_home.database) in str(caught.value)
    assert "not a database" in str(caught.value)


def test_migrating_twice_applies_nothing(lw_home: Home) -> None:
    conn = _database_at(lw_home.database, SCHEMA_VERSION)
    assert migrate(conn, path=lw_home.database) == []
    conn.close()
