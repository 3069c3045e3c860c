"""Summaries of evicted turns with the real bundled model and a real SQLite store."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from app.engine.base import Sampling
from app.errors import LoreweaverError
from app.memory.store import ChatStore, StoredMessage
from app.memory.summaries import (
    Summariser,
    current_summary,
    pending_span,
    roll_up,
    store_summary,
    summarise,
)
from app.prompts.formats import PromptFormat, choose_format
from app.prompts.messages import Message

TAVERN = [
    ("user", "Hello Brenna, I need a new sword for the tournament in Eastwatch."),
    (
        "assistant",
        "Ah, Tom! A tournament blade, then. Steel from the northern mines costs 40 gold.",
    ),
    ("user", "40 gold is too much. I can pay 25 and bring you coal from my father's mine."),
    ("assistant", "Coal and 25 gold... deal. But promise to bring the coal before the full moon."),
    ("user", "I promise. Also, have you heard about the bandits on the mountain pass?"),
    ("assistant", "Aye, they robbed a merchant named Oskar. They hide in the old watchtower."),
    ("user", "Then I will avoid the pass and take the river road instead."),
    ("assistant", "Wise. Take this dagger too, in case the river road has its own troubles."),
    ("user", "Thank you, Brenna. I'll return in three days with the coal."),
    ("assistant", "I'll start forging tonight. Don't forget your promise, Tom."),
]
GREEDY = Sampling(temperature=0.0, top_k=1, top_p=1.0, min_p=0.0, seed=1, max_tokens=16)


@pytest.fixture(scope="module")
def fmt(engine: Any) -> PromptFormat:
    return choose_format(None, engine.info)


def tavern(store: ChatStore) -> tuple[int, list[StoredMessage]]:
    chat = store.create_chat("brenna", user_name="Tom")
    return chat.id, [store.add_message(chat.id, role, text) for role, text in TAVERN]


def reply(engine: Any, fmt: PromptFormat) -> str:
    """A short greedy reply, as the chat would ask for one."""
    prompt = fmt.render([Message("system", "You are Brenna, a smith."), Message("user", "Hi!")])
    generation = engine.generate(prompt, GREEDY, stop=fmt.stop)
    return "".join(generation)


def test_summarise_a_span_and_store_what_it_covers(
    store: ChatStore, engine: Any, fmt: PromptFormat
) -> None:
    chat_id, messages = tavern(store)
    ids = [m.id for m in messages]
    text = summarise(engine, fmt, messages, char="Brenna", user="Tom")
    assert text.strip()
    assert "Brenna" in text or "Tom" in text
    assert "<|im_" not in text

    summary = store_summary(store, chat_id, messages, text, 0, tokens=engine.count_tokens(text))
    assert (summary.first_message_id, summary.last_message_id) == (ids[0], ids[-1])
    assert (summary.level, summary.text, summary.chat_id) == (0, text.strip(), chat_id)
    assert summary.tokens == engine.count_tokens(text)
    assert current_summary(store, chat_id) == [summary]
    assert pending_span(store, chat_id, ids) == []

    later = [store.add_message(chat_id, "user", "And the dagger?").id]
    assert pending_span(store, chat_id, [*ids, *later]) == later

    store.add_message(chat_id, "user", "Actually, forget the sword.", parent_id=ids[4])
    assert current_summary(store, chat_id) == []  # the summary's end is off this branch
    assert pending_span(store, chat_id, ids) == ids[:5]


def test_store_summary_rejects_bad_input(store: ChatStore) -> None:
    chat_id, messages = tavern(store)
    other = store.create_chat("kestrel")
    for args in (([], "text", 0), (messages, "  ", 0), (messages, "text", -1)):
        with pytest.raises(LoreweaverError):
            store_summary(store, chat_id, *args)
    with pytest.raises(LoreweaverError, match=f"not in chat {other.id}"):
        store_summary(store, other.id, messages, "text", 0)
    assert current_summary(store, chat_id) == []


def test_summariser_works_in_the_background_and_never_during_a_reply(
    store: ChatStore, engine: Any, fmt: PromptFormat
) -> None:
    chat_id, messages = tavern(store)
    expected = reply(engine, fmt)
    cached = engine.cached_tokens()
    summariser = Summariser(store, engine, fmt, char="Brenna", user="Tom", max_tokens=60)
    try:
        with summariser.replying():
            # submit only queues: were it to wait for the model, it would wait for this block
            submitting = threading.Thread(
                target=summariser.submit, args=(chat_id, [m.id for m in messages])
            )
            submitting.start()
            submitting.join(timeout=60)
            assert not submitting.is_alive()
            assert not summariser.wait(0.5)  # held off while the reply has the model
            assert not summariser.working
            assert reply(engine, fmt) == expected
            assert current_summary(store, chat_id) == []
        assert summariser.wait(120)
        assert summariser.errors == []
        (summary,) = current_summary(store, chat_id)
        assert summary.first_message_id == messages[0].id
        assert summary.last_message_id == messages[-1].id
        assert summary.text and summary.level == 0
        assert summariser.written == [summary]
        assert engine.cached_tokens() == cached  # the chat's KV cache was put back
    finally:
        summariser.close()


def test_a_reply_cancels_a_running_summary_which_is_retried(
    store: ChatStore, engine: Any, fmt: PromptFormat
) -> None:
    chat_id, messages = tavern(store)
    expected = reply(engine, fmt)
    summariser = Summariser(store, engine, fmt, char="Brenna", user="Tom", max_tokens=60)
    try:
        summariser.submit(chat_id, [m.id for m in messages])
        deadline = time.monotonic() + 30
        while not summariser.working and time.monotonic() < deadline:
            time.sleep(0.01)
        assert summariser.working
        with summariser.replying():
            assert not summariser.working
            assert summariser.cancelled == 1
            assert current_summary(store, chat_id) == []
            assert reply(engine, fmt) == expected
        assert summariser.wait(120)
        assert summariser.errors == []
        assert [s.last_message_id for s in current_summary(store, chat_id)] == [messages[-1].id]
    finally:
        summariser.close()


def test_roll_up_when_level_zero_summaries_exceed_the_budget(
    store: ChatStore, engine: Any, fmt: PromptFormat
) -> None:
    chat_id, messages = tavern(store)
    texts = [
        "Tom ordered a tournament sword from Brenna for 25 gold and a load of coal.",
        "Brenna warned Tom about bandits hiding in the old watchtower on the mountain pass.",
        "Tom promised to bring the coal within three days, and Brenna began forging.",
    ]
    spans = (messages[0:4], messages[4:7], messages[7:10])
    level0 = [
        store_summary(store, chat_id, span, text, 0, tokens=engine.count_tokens(text))
        for span, text in zip(spans, texts, strict=True)
    ]
    assert current_summary(store, chat_id) == level0
    total = sum(s.tokens for s in level0)
    kwargs: dict[str, Any] = {"char": "Brenna", "user": "Tom", "max_tokens": 60}
    assert roll_up(engine, fmt, store, chat_id, budget_tokens=total, **kwargs) is None

    rolled = roll_up(engine, fmt, store, chat_id, budget_tokens=total - 1, **kwargs)
    assert rolled is not None and rolled.text
    assert rolled.level == 1
    assert (rolled.first_message_id, rolled.last_message_id) == (messages[0].id, messages[6].id)
    assert current_summary(store, chat_id) == [rolled, level0[2]]


def test_summariser_rolls_summaries_up_as_they_grow(
    store: ChatStore, engine: Any, fmt: PromptFormat
) -> None:
    chat_id, messages = tavern(store)
    summariser = Summariser(
        store, engine, fmt, char="Brenna", user="Tom", max_tokens=40, budget_tokens=1,
        batch_tokens=160,
    )  # fmt: skip
    try:
        summariser.submit(chat_id, [m.id for m in messages])
        assert summariser.wait(180)
        assert summariser.errors == []
        assert [s.level for s in summariser.written] == [0, 0, 1]
        first, second, rolled = summariser.written
        assert first.last_message_id != messages[-1].id  # the span was split in two
        assert (first.first_message_id, second.last_message_id) == (
            messages[0].id, messages[-1].id,
        )  # fmt: skip
        assert current_summary(store, chat_id) == [rolled]
        assert (rolled.first_message_id, rolled.last_message_id) == (
            messages[0].id, messages[-1].id,
        )  # fmt: skip
    finally:
        summariser.close()
