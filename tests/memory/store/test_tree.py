"""Chats as trees in a real SQLite file: swipes, selecting a branch, edits, branches, deletes."""

from __future__ import annotations

import sqlite3

import pytest

from app.errors import LoreweaverError
from app.home import Home
from app.memory.store import ChatStore, StoredMessage


def texts(messages: list[StoredMessage]) -> list[str]:
    return [m.content for m in messages]


def counter(store: ChatStore, message_id: int) -> str:
    ids = [m.id for m in store.swipes(message_id)]
    return f"{ids.index(message_id) + 1}/{len(ids)}"


def test_a_new_chat_is_empty_and_listed(store: ChatStore) -> None:
    chat = store.create_chat("brenna", title="At the forge", user_name="Ash")
    assert store.active_path(chat.id) == []
    (summary,) = store.list_chats()
    assert (summary.id, summary.character_id, summary.title) == (chat.id, "brenna", "At the forge")
    assert summary.message_count == 0
    assert store.get_chat(chat.id).user_name == "Ash"


def test_messages_continue_the_active_path(store: ChatStore) -> None:
    chat = store.create_chat("brenna")
    first = store.add_message(chat.id, "user", "Hello.")
    second = store.add_message(chat.id, "assistant", "Welcome, traveller.", name="Brenna")
    assert second.parent_id == first.id and second.depth == 1
    assert texts(store.active_path(chat.id)) == ["Hello.", "Welcome, traveller."]
    assert store.get_chat(chat.id).active_leaf_id == second.id
    assert store.active_path(chat.id)[1].name == "Brenna"


def test_regenerated_replies_are_swipes_and_select_switches_the_path(store: ChatStore) -> None:
    chat = store.create_chat("brenna")
    question = store.add_message(chat.id, "user", "How much for a sword?")
    first = store.add_message(chat.id, "assistant", "Ten crowns.")
    second = store.add_message(chat.id, "assistant", "Twelve, for you.", parent_id=question.id)
    third = store.add_message(chat.id, "assistant", "Not for sale.", parent_id=question.id)
    assert [m.id for m in store.swipes(second.id)] == [first.id, second.id, third.id]
    assert counter(store, second.id) == "2/3"
    assert texts(store.active_path(chat.id)) == ["How much for a sword?", "Not for sale."]

    store.select(second.id)
    assert texts(store.active_path(chat.id)) == ["How much for a sword?", "Twelve, for you."]
    assert store.list_chats()[0].message_count == 2
    assert store.list_chats()[0].last_message == "Twelve, for you."


def test_select_resumes_where_the_user_left_that_branch(store: ChatStore) -> None:
    chat = store.create_chat("kestrel")
    root = store.add_message(chat.id, "user", "Split the bounty?")
    a = store.add_message(chat.id, "assistant", "Sixty-forty.")
    deeper = [
        store.add_message(chat.id, "user", "Fifty-fifty."),
        store.add_message(chat.id, "assistant", "Deal."),
    ]
    b = store.add_message(chat.id, "assistant", "No.", parent_id=root.id)
    assert texts(store.active_path(chat.id)) == ["Split the bounty?", "No."]

    leaf = store.select(a.id)
    assert leaf.id == deeper[-1].id
    assert texts(store.active_path(chat.id)) == [
        "Split the bounty?",
        "Sixty-forty.",
        "Fifty-fifty.",
        "Deal.",
    ]
    # Selecting an ancestor of the current leaf keeps the path as it is.
    store.select(root.id)
    assert store.get_chat(chat.id).active_leaf_id == deeper[-1].id
    store.select(b.id)
    assert store.get_chat(chat.id).active_leaf_id == b.id


def test_a_branch_can_start_from_any_message(store: ChatStore) -> None:
    chat = store.create_chat("old_tam")
    one = store.add_message(chat.id, "user", "Any news?")
    store.add_message(chat.id, "assistant", "Wolves on the north road.")
    store.add_message(chat.id, "user", "How many?")
    fork = store.add_message(chat.id, "user", "Which road is safe?", parent_id=one.id)
    assert fork.depth == 1
    assert texts(store.active_path(chat.id))[-1] == "Which road is safe?"
    assert len(store.active_path(chat.id)) == 2


def test_edit_keeps_every_version(store: ChatStore) -> None:
    chat = store.create_chat("brenna")
    message = store.add_message(chat.id, "user", "Helo")
    store.edit(message.id, "Hello")
    edited = store.edit(message.id, "Hello, smith.")
    assert edited.content == "Hello, smith."
    assert store.versions(message.id) == ["Helo", "Hello", "Hello, smith."]
    assert store.edit(message.id, "Hello, smith.").content == "Hello, smith."
    assert store.versions(message.id) == ["Helo", "Hello", "Hello, smith."]
    assert texts(store.active_path(chat.id)) == ["Hello, smith."]


def test_a_streaming_reply_cannot_be_edited(store: ChatStore) -> None:
    chat = store.create_chat("brenna")
    reply = store.add_message(chat.id, "assistant", "Once", status="streaming")
    with pytest.raises(LoreweaverError, match="still being written"):
        store.edit(reply.id, "Twice")


def test_branch_copies_the_path_into_a_new_chat(store: ChatStore) -> None:
    chat = store.create_chat("brenna", title="Haggling", user_name="Ash", meta={"scene": "forge"})
    store.add_message(chat.id, "user", "Hello.")
    middle = store.add_message(chat.id, "assistant", "Welcome.", meta={"seed": 5})
    store.add_message(chat.id, "user", "Goodbye.")

    new = store.branch(middle.id)
    assert new.id != chat.id and new.character_id == "brenna" and new.user_name == "Ash"
    assert new.title == "Haggling (branch)"
    assert new.meta == {
        "scene": "forge",
        "branched_from": {"chat_id": chat.id, "message_id": middle.id},
    }
    copied = store.active_path(new.id)
    assert texts(copied) == ["Hello.", "Welcome."]
    assert copied[1].meta == {"seed": 5}
    assert {m.id for m in copied}.isdisjoint(m.id for m in store.active_path(chat.id))

    store.edit(copied[0].id, "Hi.")
    assert texts(store.active_path(chat.id)) == ["Hello.", "Welcome.", "Goodbye."]
    assert store.branch(middle.id, title="Second try").title == "Second try"


def test_deleting_a_swipe_moves_to_the_remaining_one(store: ChatStore) -> None:
    chat = store.create_chat("brenna")
    question = store.add_message(chat.id, "user", "Price?")
    kept = store.add_message(chat.id, "assistant", "Ten.")
    gone = store.add_message(chat.id, "assistant", "Twenty.", parent_id=question.id)
    store.add_message(chat.id, "user", "Too much.")
    store.add_message(chat.id, "assistant", "Then leave.")

    store.delete(gone.id)
    assert texts(store.active_path(chat.id)) == ["Price?", "Ten."]
    assert [m.id for m in store.swipes(kept.id)] == [kept.id]
    with pytest.raises(LoreweaverError, match=f"no message with id {gone.id}"):
        store.get_message(gone.id)


def test_deleting_the_last_child_moves_the_leaf_to_the_parent(store: ChatStore) -> None:
    chat = store.create_chat("brenna")
    question = store.add_message(chat.id, "user", "Price?")
    reply = store.add_message(chat.id, "assistant", "Ten.")
    store.add_message(chat.id, "user", "Deal.")
    store.delete(reply.id)
    assert store.get_chat(chat.id).active_leaf_id == question.id
    assert store.list_chats()[0].message_count == 1
    store.delete(question.id)
    assert store.get_chat(chat.id).active_leaf_id is None
    assert store.active_path(chat.id) == []


def test_deleting_off_the_active_path_leaves_the_path_alone(store: ChatStore) -> None:
    chat = store.create_chat("brenna")
    question = store.add_message(chat.id, "user", "Price?")
    other = store.add_message(chat.id, "assistant", "Ten.")
    shown = store.add_message(chat.id, "assistant", "Twenty.", parent_id=question.id)
    store.delete(other.id)
    assert store.get_chat(chat.id).active_leaf_id == shown.id
    assert counter(store, shown.id) == "1/1"


def test_delete_chat_removes_everything(store: ChatStore, lw_home: Home) -> None:
    keep = store.create_chat("kestrel")
    store.add_message(keep.id, "user", "Stay.")
    chat = store.create_chat("brenna")
    message = store.add_message(chat.id, "user", "Hello.")
    store.edit(message.id, "Hi.")
    store.delete_chat(chat.id)
    assert [c.id for c in store.list_chats()] == [keep.id]
    with pytest.raises(LoreweaverError, match=f"no chat with id {chat.id}"):
        store.get_chat(chat.id)
    with pytest.raises(LoreweaverError):
        store.delete_chat(chat.id)
    raw = sqlite3.connect(lw_home.database)
    assert raw.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 1
    assert raw.execute("SELECT COUNT(*) FROM message_versions").fetchone()[0] == 0
    raw.close()


def test_a_long_chat_deletes_from_its_root(store: ChatStore) -> None:
    """Thousands of levels: no cascade recursion limit, paths still resolve."""
    chat = store.create_chat("brenna")
    with store.transaction():
        first = store.add_message(chat.id, "user", "0")
        for n in range(1, 1500):
            store.add_message(chat.id, "assistant" if n % 2 else "user", str(n))
    path = store.active_path(chat.id)
    assert len(path) == 1500 and path[-1].content == "1499"
    store.delete(first.id)
    assert store.active_path(chat.id) == [] and store.list_chats()[0].message_count == 0


def test_list_filters_by_character_and_puts_the_newest_first(store: ChatStore) -> None:
    older = store.create_chat("brenna")
    other = store.create_chat("kestrel")
    newer = store.create_chat("brenna")
    store.add_message(older.id, "user", "Touched last.")
    assert [c.id for c in store.list_chats("brenna")] == [older.id, newer.id]
    assert [c.id for c in store.list_chats()] == [older.id, newer.id, other.id]
    assert store.list_chats("nobody") == []
    latest = store.latest_chat("brenna")
    assert latest is not None and latest.id == older.id
    assert store.latest_chat("nobody") is None


def test_bad_references_are_one_line_errors(store: ChatStore) -> None:
    chat = store.create_chat("brenna")
    elsewhere = store.create_chat("kestrel")
    foreign = store.add_message(elsewhere.id, "user", "Mine.")
    with pytest.raises(LoreweaverError, match=f"not in chat {chat.id}"):
        store.add_message(chat.id, "assistant", "Hi.", parent_id=foreign.id)
    with pytest.raises(LoreweaverError, match="no chat with id 999"):
        store.add_message(999, "user", "Hi.")
    with pytest.raises(LoreweaverError, match="unknown message role"):
        store.add_message(chat.id, "narrator", "Hi.")
    with pytest.raises(LoreweaverError, match="no message with id 999"):
        store.select(999)
    with pytest.raises(LoreweaverError, match="character id"):
        store.create_chat("  ")
    assert store.active_path(chat.id) == []


def test_a_failed_transaction_writes_nothing(store: ChatStore) -> None:
    chat = store.create_chat("brenna")
    store.add_message(chat.id, "user", "Kept.")
    with pytest.raises(RuntimeError), store.transaction():
        store.add_message(chat.id, "assistant", "Lost.")
        store.create_chat("kestrel")
        raise RuntimeError("boom")
    assert texts(store.active_path(chat.id)) == ["Kept."]
    assert [c.character_id for c in store.list_chats()] == ["brenna"]


def test_chats_survive_reopening(lw_home: Home) -> None:
    with ChatStore.open(lw_home) as first:
        chat = first.create_chat("brenna", meta={"model": "smol"})
        first.add_message(chat.id, "user", "Remember me.", meta={"n": 1})
    with ChatStore.open(lw_home) as again:
        assert texts(again.active_path(chat.id)) == ["Remember me."]
        assert again.get_chat(chat.id).meta == {"model": "smol"}
        assert again.active_path(chat.id)[0].meta == {"n": 1}
        assert again.recovered == []
