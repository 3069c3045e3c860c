"""Managing chats in the store: bookmarks, going back, branch titles, search across chats, and
new chats stored only at their first line."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from support import start_brenna

from app.engine.base import Sampling
from app.errors import LoreweaverError
from app.home import Home
from app.memory.recall import search
from app.memory.store import (
    ChatStore,
    add_bookmark,
    branch_from,
    jump_to,
    list_bookmarks,
    remove_bookmark,
)

if TYPE_CHECKING:
    from app.engine.llamacpp import LlamaEngine


def _chat(store: ChatStore, lines: list[str], title: str | None = None) -> tuple[int, list[int]]:
    chat = store.create_chat("brenna", title=title)
    ids = []
    for index, line in enumerate(lines):
        ids.append(store.add_message(chat.id, "user" if index % 2 else "assistant", line).id)
    return chat.id, ids


def test_bookmarks_name_points_and_jumping_back_keeps_what_followed(store: ChatStore) -> None:
    chat, ids = _chat(store, ["Hello.", "Hi.", "Sword?", "Forty.", "Deal.", "Done."])
    mark = add_bookmark(store, chat, "  before   the deal ", ids[3])
    assert mark.name == "before the deal"
    add_bookmark(store, chat, "end")
    assert [(b.name, b.message_id) for b in list_bookmarks(store, chat)] == [
        ("before the deal", ids[3]),
        ("end", ids[5]),
    ]
    assert jump_to(store, chat, "before the deal").id == ids[3]
    assert [m.id for m in store.active_path(chat)] == ids[:4]
    new = store.add_message(chat, "assistant", "No deal.")
    assert new.parent_id == ids[3]
    assert [m.id for m in store.swipes(new.id)] == [ids[4], new.id]  # the old line is a branch
    jump_to(store, chat, "end")
    assert [m.id for m in store.active_path(chat)] == ids


def test_bookmark_errors_are_clear(store: ChatStore) -> None:
    chat, ids = _chat(store, ["Hello.", "Hi."])
    other, other_ids = _chat(store, ["Elsewhere."])
    add_bookmark(store, chat, "a")
    with pytest.raises(LoreweaverError, match="already has a bookmark named 'a'"):
        add_bookmark(store, chat, "a")
    with pytest.raises(LoreweaverError, match="needs a name"):
        add_bookmark(store, chat, "   ")
    with pytest.raises(LoreweaverError, match=f"message {other_ids[0]} is not in chat {chat}"):
        add_bookmark(store, chat, "b", other_ids[0])
    with pytest.raises(LoreweaverError, match="has no bookmark 'zz' \\(bookmarks: 'a'\\)"):
        jump_to(store, chat, "zz")
    empty = store.create_chat("brenna")
    with pytest.raises(LoreweaverError, match="no messages to bookmark"):
        add_bookmark(store, empty.id, "x")
    remove_bookmark(store, chat, "a")
    assert list_bookmarks(store, chat) == []
    assert list_bookmarks(store, other) == []


def test_deleting_a_bookmarked_message_drops_its_bookmark(store: ChatStore) -> None:
    chat, ids = _chat(store, ["Hello.", "Hi.", "Bye."])
    add_bookmark(store, chat, "hi", ids[1])
    add_bookmark(store, chat, "hello", ids[0])
    store.delete(ids[1])
    assert [b.name for b in list_bookmarks(store, chat)] == ["hello"]


def test_branching_from_a_bookmark_copies_the_path_up_to_it(store: ChatStore) -> None:
    chat, ids = _chat(store, ["Hello.", "Hi.", "Sword?", "Forty."], title="Market")
    add_bookmark(store, chat, "ask", ids[2])
    branch = branch_from(store, chat, "ask")
    assert [m.content for m in store.active_path(branch.id)] == ["Hello.", "Hi.", "Sword?"]


def test_branch_titles_count_up_instead_of_piling_up(store: ChatStore) -> None:
    chat, ids = _chat(store, ["Hello.", "Hi."], title="Market")
    first = store.branch(ids[1])
    second = store.branch(ids[1])
    of_branch = store.branch(store.active_path(first.id)[-1].id)
    untitled, untitled_ids = _chat(store, ["Hey."])
    assert [first.title, second.title, of_branch.title] == [
        "Market (branch)",
        "Market (branch 2)",
        "Market (branch 3)",
    ]
    assert store.branch(untitled_ids[0]).title == f"Chat {untitled} (branch)"


def test_search_across_chats_and_within_one(store: ChatStore) -> None:
    one, _ = _chat(store, ["The anvil rings.", "Nice anvil."])
    two, _ = _chat(store, ["An anvil again.", "Bread."])
    everywhere = search(store, None, "anvil")
    assert {m.chat_id for m in everywhere} == {one, two} and len(everywhere) == 3
    assert [m.chat_id for m in search(store, two, "anvil")] == [two]
    assert search(store, None, 'OR NEAR( "') == []


def test_a_new_chat_is_stored_only_at_its_first_line(
    engine: LlamaEngine, lw_home: Home, store: ChatStore
) -> None:
    from app.memory.authors_note import load_note, make_note

    session = start_brenna(engine, lw_home, store, user="Ann", home=lw_home, summaries=False)
    assert session.chat is None and store.list_chats() == []
    assert [m.role for m in session.history] == ["assistant"]
    session.set_persona("Wren", "a courier")
    session.set_state("trust", "2")
    session.set_authors_note(make_note("Rain."))
    assert store.list_chats() == []
    reply = session.send("Hello.", Sampling(max_tokens=2, seed=1))
    for _ in reply:
        pass
    reply.finish()
    assert session.chat is not None
    chat = store.get_chat(session.chat.id)
    assert chat.user_name == "Wren" and chat.meta["user_description"] == "a courier"
    assert chat.meta["state"] == {"trust": 2}
    assert load_note(store, chat.id) is not None
    assert [m.role for m in store.active_path(chat.id)] == ["assistant", "user", "assistant"]
    assert session.state_path is not None and str(chat.id) in session.state_path.name
    assert len(store.list_chats()) == 1


def test_branch_here_on_the_users_own_line_includes_it(
    engine: LlamaEngine, lw_home: Home, store: ChatStore
) -> None:
    session = start_brenna(engine, lw_home, store, user="Ann", home=lw_home, summaries=False)
    reply = session.send("My own line.", Sampling(max_tokens=2, seed=1))
    for _ in reply:
        pass
    reply.finish()
    first = session.chat
    assert first is not None
    branch = session.branch(1)
    assert branch.id != first.id
    assert [m.content for m in session.history][-1] == "My own line."
    assert [m.role for m in store.active_path(branch.id)] == ["assistant", "user"]
