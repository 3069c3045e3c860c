"""Undoing a delete: the store keeps each chat's last deleted subtree and puts it back whole."""

from __future__ import annotations

import pytest

from app.errors import LoreweaverError
from app.home import Home
from app.memory.store import ChatStore


def test_restore_brings_back_the_subtree_its_edits_and_the_path(lw_home: Home) -> None:
    with ChatStore.open(lw_home) as store:
        chat = store.create_chat("brenna")
        greeting = store.add_message(chat.id, "assistant", "Hello.")
        line = store.add_message(chat.id, "user", "Nails?")
        first = store.add_message(chat.id, "assistant", "Two silver.")
        store.add_message(chat.id, "assistant", "Three.", parent_id=line.id)  # a swipe
        store.select(first.id)
        store.edit(first.id, "Two silver, friend.")
        store.delete(line.id)
        assert [m.content for m in store.active_path(chat.id)] == ["Hello."]
        store.restore_deleted(chat.id)
        assert [m.content for m in store.active_path(chat.id)] == [
            "Hello.",
            "Nails?",
            "Two silver, friend.",
        ]
        assert store.versions(first.id) == ["Two silver.", "Two silver, friend."]
        assert [m.content for m in store.swipes(first.id)] == ["Two silver, friend.", "Three."]
        assert store.get_message(greeting.id).content == "Hello."
        with pytest.raises(LoreweaverError, match="nothing to undo"):
            store.restore_deleted(chat.id)  # once only


def test_only_the_last_delete_is_kept(lw_home: Home) -> None:
    with ChatStore.open(lw_home) as store:
        chat = store.create_chat("brenna")
        store.add_message(chat.id, "assistant", "Hello.")
        line = store.add_message(chat.id, "user", "Nails?")
        reply = store.add_message(chat.id, "assistant", "Two silver.")
        store.delete(reply.id)
        store.delete(line.id)  # replaces the kept reply: undo brings back the line only
        store.restore_deleted(chat.id)
        assert [m.content for m in store.active_path(chat.id)] == ["Hello.", "Nails?"]
        store.delete_chat(chat.id)  # the kept subtree goes with its chat
        with pytest.raises(LoreweaverError, match="no chat"):
            store.restore_deleted(chat.id)
