"""Consecutive prompts through the real session: each extends the last one's tokens, except at
deliberate evictions; chats persist and resume."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from app.home import Home
from app.memory.store import ChatStore
from app.models import resolve_model
from app.prompts.formats import FAMILIES, get_format
from app.session import ChatSession
from app.session_start import open_chat
from app.sheets import library

if TYPE_CHECKING:
    from app.engine.llamacpp import LlamaEngine

USER_LINES = [f"Line {i}: tell me about the forge and the {i}th sword you made." for i in range(40)]
REPLY = "Aye. " + "The steel was good and the quench was clean. " * 6


def _prefix_len(a: list[int], b: list[int]) -> int:
    return len(os.path.commonprefix([a, b]))


def _session(engine: LlamaEngine, home: Home, family: str | None = None) -> ChatSession:
    _, sheet = library.load(home, "brenna")
    fmt = (
        get_format(family)
        if family
        else __import__("app.prompts.formats", fromlist=["choose_format"]).choose_format(
            None, resolve_model(home, None)
        )
    )
    from app.prompts.messages import Message

    return ChatSession(
        sheet,
        fmt,
        engine,
        user="Ann",
        history=[Message("assistant", sheet.first_message)],
        reserve=64,
    )


def test_each_prompt_extends_the_previous_one_until_an_eviction(
    engine: LlamaEngine, lw_home: Home
) -> None:
    from app.prompts.messages import Message

    session = _session(engine, lw_home)
    previous: list[int] | None = None
    evictions = stable = 0
    last_first, last_cut, last_notes = 0, False, 0
    for line in USER_LINES:
        assembly = session.assembly(line)
        tokens = engine.tokenize(session.fmt.render(assembly.messages))
        assert len(tokens) + session.reserve <= engine.n_ctx
        if previous is not None:
            if assembly.first_kept != last_first or assembly.examples_cut != last_cut:
                evictions += 1
                if assembly.first_kept != last_first:
                    assert assembly.first_kept - last_first >= 3  # a chunk, not one turn
            else:
                # all of the previous prompt is reused but its tail: the per-turn notes (they
                # move on to the new last turn) and the generation prompt
                assert _prefix_len(previous, tokens) >= len(previous) - last_notes - 8
                stable += 1
        last_first, last_cut = assembly.first_kept, assembly.examples_cut
        last_notes = next(s.tokens for s in assembly.sections if s.name == "per-turn notes")
        previous = tokens
        session.history = [*session.history, Message("user", line), Message("assistant", REPLY)]
    assert evictions >= 1, "the window (2048) should have filled"
    assert stable >= 3 * evictions


def test_every_builtin_family_keeps_prefix_stability_with_the_session(
    engine: LlamaEngine, lw_home: Home
) -> None:
    from app.prompts.messages import Message

    for family in FAMILIES:
        session = _session(engine, lw_home, family)
        first = session.fmt.render(session.messages("Hello there."))
        session.history = [
            *session.history,
            Message("user", "Hello there."),
            Message("assistant", "Well met."),
        ]
        second = session.fmt.render(session.messages("How much?"))
        common = len(first) - len(first.split("Hello there.")[-1])
        assert second[:common] == first[:common], family


def test_chats_persist_and_resume(engine: LlamaEngine, lw_home: Home) -> None:
    from app.engine.base import Sampling

    _, sheet = library.load(lw_home, "old_tam")
    with ChatStore.open(lw_home) as store:
        chat, history = open_chat(store, "old_tam", sheet, user="Ann", resume=None)
        session = ChatSession(
            sheet, get_format("chatml"), engine, user="Ann", history=history, store=store, chat=chat
        )
        reply = session.send("Any rooms free?", Sampling(temperature=0.0, max_tokens=12))
        text = "".join(reply)
        reply.finish()
    with ChatStore.open(lw_home) as store:
        again, history = open_chat(store, "old_tam", sheet, user="Ann", resume=True)
        assert again.id == chat.id
        assert [m.role for m in history] == ["assistant", "user", "assistant"]
        assert history[1].content == "Any rooms free?" and history[2].content == text.strip()
        stored = store.active_path(chat.id)[-1]
        assert stored.status == "complete" and stored.meta["completion_tokens"] >= 1
