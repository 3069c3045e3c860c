"""Recall over a real chat store: BM25 relevance, recency and importance, safe queries."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.memory.recall import importance_of, match_expression, query_terms, recall
from app.memory.store import ChatStore

FILLER = [
    "The weather has turned cold this week.",
    "I could use a warm meal at the inn.",
    "The road north is muddy after the rain.",
    "Do you want more bread with your soup?",
    "My horse needs new shoes before we ride.",
    "The market is busy on the first day of the month.",
]


def build_chat(store: ChatStore, texts: dict[int, str], length: int = 60) -> list[int]:
    """A chat of `length` alternating turns; turn i says `texts[i]` if given, else filler."""
    chat = store.create_chat("brenna")
    ids = []
    for turn in range(length):
        role = "user" if turn % 2 == 0 else "assistant"
        content = texts.get(turn, FILLER[turn % len(FILLER)])
        ids.append(store.add_message(chat.id, role, content).id)
    return ids


def test_relevant_old_message_ranks_first(store: ChatStore) -> None:
    ids = build_chat(
        store,
        {
            7: "I hid the silver key under the mill, by the old water wheel.",
            40: "The key to a good stew is patience.",
            44: "Silver prices went up at the market.",
            50: "Lost another key today, I think.",
        },
    )
    chat_id = store.get_message(ids[0]).chat_id
    found = recall(
        store, chat_id, "Where is the silver key?", exclude_ids=set(ids[52:]), now_turn=60, k=3
    )
    assert [r.message.id for r in found][0] == ids[7]
    assert {r.message.id for r in found} <= {ids[7], ids[40], ids[44], ids[50]}
    top = found[0]
    assert top.bm25 == pytest.approx(1.0)
    assert top.why.startswith("matched 'silver', 'key'; 53 turns ago; importance ")
    assert all(0 <= r.bm25 <= 1 and 0 < r.recency <= 1 and 0 <= r.importance <= 1 for r in found)
    assert found == sorted(found, key=lambda r: -r.score)


def test_recency_breaks_ties(store: ChatStore) -> None:
    line = "The lantern is in the cellar."
    ids = build_chat(store, {10: line, 30: line})
    chat_id = store.get_message(ids[0]).chat_id
    found = recall(store, chat_id, "lantern", exclude_ids=(), now_turn=60)
    assert [r.message.id for r in found] == [ids[30], ids[10]]
    assert found[0].bm25 == found[1].bm25 and found[0].importance == found[1].importance
    assert found[0].recency == pytest.approx(0.5 ** (30 / 50))
    assert found[1].recency == pytest.approx(0.5 ** (50 / 50))


def test_importance_weight_changes_the_order(store: ChatStore) -> None:
    plain = "The lantern."
    weighty = (
        "I promise on my life, Captain Aldric: the lantern hides the secret map to the "
        "300 gold of Eastwatch. Will you keep it safe?"
    )
    ids = build_chat(store, {20: weighty, 50: plain})
    chat_id = store.get_message(ids[0]).chat_id
    assert importance_of(weighty) > importance_of(plain) + 0.5

    default = recall(store, chat_id, "the lantern", exclude_ids=(), now_turn=60)
    assert [r.message.id for r in default] == [ids[50], ids[20]]
    weighted = recall(
        store, chat_id, "the lantern", exclude_ids=(), now_turn=60, weights=(1.0, 1.0, 5.0)
    )
    assert [r.message.id for r in weighted] == [ids[20], ids[50]]


def test_stored_importance_wins_over_the_heuristic(store: ChatStore, lw_home: object) -> None:
    ids = build_chat(store, {4: "The lantern.", 6: "The lantern."}, length=10)
    chat_id = store.get_message(ids[0]).chat_id
    with store.transaction() as conn:
        conn.execute("UPDATE messages SET importance = 0.9 WHERE id = ?", (ids[4],))
    found = recall(store, chat_id, "lantern", exclude_ids=(), now_turn=10)
    assert [r.message.id for r in found] == [ids[4], ids[6]]
    assert found[0].importance == pytest.approx(0.9)


def test_excluded_and_off_path_messages_are_not_recalled(store: ChatStore) -> None:
    ids = build_chat(store, {3: "The dragon sleeps.", 5: "A dragon!", 9: "Dragon again."}, 12)
    chat_id = store.get_message(ids[0]).chat_id
    swipe = store.add_message(chat_id, "assistant", "A dragon swipe.", parent_id=ids[4])
    store.select(ids[-1])  # back to the main branch: the swipe is off the active path
    found = recall(store, chat_id, "dragon", exclude_ids={ids[9]}, now_turn=12, k=10)
    assert {r.message.id for r in found} == {ids[3], ids[5]}
    assert swipe.id not in {r.message.id for r in found}
    assert recall(store, chat_id, "dragon", exclude_ids=set(ids), now_turn=12) == []


def test_other_chats_are_not_recalled(store: ChatStore) -> None:
    mine = build_chat(store, {2: "The griffin nests here."}, 6)
    build_chat(store, {2: "A griffin in another chat."}, 6)
    chat_id = store.get_message(mine[0]).chat_id
    found = recall(store, chat_id, "griffin", exclude_ids=(), now_turn=6, k=5)
    assert [r.message.id for r in found] == [mine[2]]


HOSTILE = [
    '"',
    "*",
    "NEAR(",
    "OR",
    "-",
    ":",
    "a:b",
    "NOT AND",
    '"key" OR *',
    "日本語の鍵",
    "🗝️",
    "",
    "  ",
]


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_queries_never_raise(store: ChatStore, query: str) -> None:
    ids = build_chat(store, {3: "NEAR the mill, the key OR the map - see: 日本語の鍵"}, 8)
    chat_id = store.get_message(ids[0]).chat_id
    found = recall(store, chat_id, query, exclude_ids=(), now_turn=8)
    assert all(r.message.id == ids[3] for r in found)


def test_non_latin_words_are_searchable(store: ChatStore) -> None:
    ids = build_chat(store, {3: "Le café près du moulin: 日本語の鍵"}, 8)
    chat_id = store.get_message(ids[0]).chat_id
    for query in ("日本語の鍵", "CAFÉ", "moulin?"):
        found = recall(store, chat_id, query, exclude_ids=(), now_turn=8)
        assert [r.message.id for r in found] == [ids[3]], query


def test_query_words_become_quoted_terms() -> None:
    assert query_terms('Where is the "silver" KEY? NEAR(key, OR) café-*') == [
        "silver", "key", "near", "cafe",
    ]  # fmt: skip
    assert match_expression(["silver", "key"]) == '"silver" OR "key"'
    assert query_terms("where is it?") == []


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=st.text(max_size=60))
def test_any_text_is_a_safe_query(store: ChatStore, query: str) -> None:
    chat = store.latest_chat("fuzz") or store.create_chat("fuzz")
    if not store.active_path(chat.id):
        store.add_message(chat.id, "user", 'The silver key OR the NEAR map: * - " 鍵')
    found = recall(store, chat.id, query, exclude_ids=(), now_turn=1)
    assert len(found) <= 1
