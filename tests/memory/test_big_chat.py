"""Big chats load lazily: the same prompt as the whole path in memory would give, texts read
only for the window, a page at a time for the screen, and one huge message cut in the prompt
(never in the store)."""

from __future__ import annotations

from typing import Any

import pytest

from app.bench.big_chat import CHARACTER, build_chat
from app.engine.base import Sampling
from app.memory.history import PAGE, PathHistory
from app.memory.message_cap import cap_tokens
from app.memory.store import ChatStore, path_index
from app.prompts.formats import get_format
from app.session import ChatSession
from app.session_start import start_session
from app.settings import Settings
from app.sheets.sheet import Sheet

SHEET = Sheet(
    name="Orla",
    description="Orla keeps the lighthouse archive.",
    first_message="The archive door creaks.",
)
QUICK = Sampling(temperature=0.0, max_tokens=4, seed=1)


def _resume(engine: Any, store: ChatStore, chat_id: int) -> ChatSession:
    from app.home import Home
    from app.models import resolve_model

    info = resolve_model(Home(store.path.parent), None)
    return start_session(
        engine,
        info,
        get_format("chatml"),
        SHEET,
        CHARACTER,
        Settings(),
        store=store,
        resume=chat_id,
        summaries=False,
    )


def _eager(session: ChatSession) -> ChatSession:
    """The same chat with its whole path in memory (the old way), on the same store."""
    history = list(session.history)
    return ChatSession(
        SHEET,
        session.fmt,
        session.engine,
        user=session.user,
        history=history,
        ids=list(session.ids),
        store=session.store,
        chat=session.chat,
        reserve=session.reserve,
    )


def test_a_300_message_chat_gives_the_same_prompt_read_lazily_or_whole(
    engine: Any, store: ChatStore
) -> None:
    chat_id = build_chat(store, 300, seed=4)
    session = _resume(engine, store, chat_id)
    assert isinstance(session.history, PathHistory) and len(session.history) == 300
    eager = _eager(session)
    lazy_assembly = session.assembly("Where is the silver key?")
    eager_assembly = eager.assembly("Where is the silver key?")
    assert lazy_assembly.first_kept > 0  # the window is full: old turns were evicted
    assert session.prompt("Where is the silver key?") == eager.prompt("Where is the silver key?")
    assert session.prompt() == eager.prompt()
    assert [(s.name, s.tokens, s.lines) for s in lazy_assembly.sections] == [
        (s.name, s.tokens, s.lines) for s in eager_assembly.sections
    ]
    assert [t.id for t in lazy_assembly.evicted] == [t.id for t in eager_assembly.evicted]


def test_resuming_reads_only_the_windows_texts_once_counts_are_stored(
    engine: Any, store: ChatStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat_id = build_chat(store, 3000, seed=5)
    _resume(engine, store, chat_id).prompt()  # the first open counts every message, once
    with store.reading() as conn:
        (stored,) = conn.execute("SELECT COUNT(*) FROM message_tokens").fetchone()
    assert stored == 3000
    read: list[int] = []
    real = path_index.read_heads

    def spy(conn: Any, ids: Any, chars: int) -> Any:
        read.extend(ids)
        return real(conn, ids, chars)

    monkeypatch.setattr(path_index, "read_heads", spy)
    session = _resume(engine, store, chat_id)
    assembly = session.assembly()
    kept = len(session.history) - assembly.first_kept
    assert 0 < kept < 200
    assert len(read) <= kept + 2 * PAGE  # the window's pages, not the path
    assert min(read) >= session.ids[assembly.first_kept - PAGE]


def test_paging_returns_the_right_slices(engine: Any, store: ChatStore) -> None:
    chat_id = build_chat(store, 500, seed=6)
    session = _resume(engine, store, chat_id)
    full = store.active_path(chat_id)
    page = session.page(400, 450)
    assert [i for _, i in page] == [m.id for m in full[400:450]]
    assert [m.content for m, _ in page] == [m.content for m in full[400:450]]
    assert [m.role for m, _ in session.page(495)] == [m.role for m in full[495:]]
    tail = session.history[-10:]
    assert isinstance(tail, PathHistory) and tail.ids == [m.id for m in full[-10:]]
    assert [m.content for m in tail] == [m.content for m in full[-10:]]
    assert session.history[123].content == full[123].content


def test_one_huge_message_is_cut_in_the_prompt_and_kept_whole_in_the_store(
    engine: Any, store: ChatStore
) -> None:
    chat_id = build_chat(store, 9, last_chars=2_000_000, seed=7)
    session = _resume(engine, store, chat_id)
    prompt = session.prompt()
    assert "message cut here" in prompt and "more characters are not shown" in prompt
    assert engine.count_tokens(prompt) < engine.n_ctx
    huge = store.get_message(session.ids[-1])
    assert len(huge.content) == 2_000_000
    shown, _ = session.page(len(session.history) - 1)[0]
    assert len(shown.content) < 100_000 and "message cut here" in shown.content
    # a line sent that is over the share is cut too (and stored whole)
    line = "word " * 20_000
    assert engine.count_tokens(session.prompt(line)) < engine.n_ctx
    assert cap_tokens(engine.n_ctx) < engine.count_tokens(line)


def test_a_big_chat_still_resumes_replies_swipes_edits_and_branches(
    engine: Any, store: ChatStore
) -> None:
    chat_id = build_chat(store, 2000, seed=8)
    session = _resume(engine, store, chat_id)
    reply = session.send("Tell me about the lantern.", QUICK)
    first = reply.finish()
    assert len(session.history) == 2002 and session.history[-1].content == first
    assert session.history[-2].content == "Tell me about the lantern."
    again = session.regenerate(Sampling(temperature=0.9, max_tokens=4, seed=2))
    again.finish()
    assert session.swipe_position() == (2, 2)
    assert session.swipe(-1) == (1, 2) and session.history[-1].content == first
    session.edit(-2, "Tell me about the ledger.")
    assert store.get_message(session.ids[-2]).content == "Tell me about the ledger."
    assert len(session.history) == 2002
    branched = session.branch(1000)
    assert session.chat is not None and session.chat.id == branched.id != chat_id
    assert len(session.history) == 1001
    assert session.history[-1].content == store.active_path(chat_id)[1000].content
    reopened = _resume(engine, store, chat_id)
    assert len(reopened.history) == 2002 and reopened.history[-2].content.endswith("ledger.")


def test_a_sillytavern_file_is_read_a_line_at_a_time(tmp_path: Any) -> None:
    import json

    from app.memory.sillytavern import parse_chat

    consumed: list[int] = []

    def lines() -> Any:
        yield b'\xef\xbb\xbf{"user_name": "Tam", "character_name": "Orla"}\n'
        for i in range(1000):
            consumed.append(i)
            yield json.dumps({"name": "Tam", "is_user": True, "mes": f"line {i}"}).encode() + b"\n"

    parsed = parse_chat(lines(), tmp_path / "big.jsonl")
    assert parsed.character_name == "Orla" and consumed == []
    first = next(parsed.turns)
    assert first.variants[0].content == "line 0" and consumed == [0]
    assert sum(1 for _ in parsed.turns) == 999
