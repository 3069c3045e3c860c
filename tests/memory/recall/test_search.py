"""The full-text index follows every insert, edit, checkpoint and delete."""

from __future__ import annotations

import sqlite3

from app.home import Home
from app.memory.recall import search
from app.memory.store import ChatStore


def ids(store: ChatStore, chat_id: int, text: str) -> list[int]:
    return [m.id for m in search(store, chat_id, text)]


def fts_consistent(home: Home) -> bool:
    conn = sqlite3.connect(home.database)
    try:
        conn.execute("INSERT INTO message_search(message_search) VALUES ('integrity-check')")
        return True
    except sqlite3.DatabaseError:
        return False
    finally:
        conn.close()


def test_search_follows_inserts_edits_and_deletes(store: ChatStore, lw_home: Home) -> None:
    chat = store.create_chat("brenna")
    sword = store.add_message(chat.id, "user", "I need a sword for the tournament.")
    shield = store.add_message(chat.id, "assistant", "A shield would serve you better.")
    assert ids(store, chat.id, "sword") == [sword.id]
    assert set(ids(store, chat.id, "tournament shield")) == {sword.id, shield.id}

    store.edit(sword.id, "I need an axe for the tournament.")
    assert ids(store, chat.id, "sword") == []
    assert ids(store, chat.id, "axe") == [sword.id]

    store.update_reply(shield.id, "A helmet would serve you better.")
    assert ids(store, chat.id, "shield") == []
    assert ids(store, chat.id, "helmet") == [shield.id]

    store.delete(shield.id)
    assert ids(store, chat.id, "helmet") == []
    assert fts_consistent(lw_home)


def test_search_is_per_chat_and_ranks_by_bm25(store: ChatStore, lw_home: Home) -> None:
    one = store.create_chat("brenna")
    two = store.create_chat("kestrel")
    weak = store.add_message(one.id, "user", "The dragon, they say, sleeps in the hills far away.")
    strong = store.add_message(one.id, "assistant", "Dragon! Dragon fire, dragon scale.")
    other = store.add_message(two.id, "user", "A dragon in another chat.")
    assert ids(store, one.id, "dragon") == [strong.id, weak.id]
    assert ids(store, two.id, "dragon") == [other.id]
    assert ids(store, one.id, 'dragon" OR *') == [strong.id, weak.id]  # query syntax is inert
    assert ids(store, one.id, "   ") == []

    store.delete_chat(one.id)
    assert ids(store, one.id, "dragon") == []
    assert ids(store, two.id, "dragon") == [other.id]
    assert fts_consistent(lw_home)


def test_search_matches_without_diacritics(store: ChatStore) -> None:
    chat = store.create_chat("brenna")
    message = store.add_message(chat.id, "user", "The café by the smithy.")
    assert ids(store, chat.id, "cafe") == [message.id]
