"""Lore, summaries, recall and the saved KV cache, through the real chat session: the real model,
a real SQLite store, real files."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.engine.base import Sampling
from app.home import Home
from app.memory.store import ChatStore
from app.memory.summaries import Summariser, current_summary
from app.session import ChatSession
from app.session_start import start_session
from app.settings import SamplingSettings, Settings
from app.sheets.lorebook import Lorebook, LoreEntry
from app.sheets.sheet import Sheet

if TYPE_CHECKING:
    from app.engine.llamacpp import LlamaEngine

SHORT = Sampling(temperature=0.0, max_tokens=4, seed=1)
SETTINGS = Settings(sampling=SamplingSettings(temperature=0.0, max_tokens=4, seed=1))


def _sheet() -> Sheet:
    book = Lorebook(
        name="Harbour",
        scan_depth=1,
        entries=[
            LoreEntry(
                name="Tide bell", keys=["bell"], content="The tide bell rings at dusk.", sticky=2
            ),
            LoreEntry(
                name="Harbour law", keys=[], content="No ship leaves at night.", constant=True
            ),
        ],
    )
    return Sheet(
        name="Orla",
        description="Keeper of the harbour archive.",
        first_message="Orla looks up.",
        character_book=book,
    )


def _session(
    engine: LlamaEngine, store: ChatStore, home: Home, resume: int | None = None
) -> ChatSession:
    from app.models import resolve_model
    from app.prompts.formats import choose_format

    info = resolve_model(home, None)
    return start_session(
        engine,
        info,
        choose_format(None, info),
        _sheet(),
        "orla",
        SETTINGS,
        store=store,
        resume=resume,
        home=home,
    )


def _say(session: ChatSession, text: str) -> None:
    reply = session.send(text, SHORT)
    for _ in reply:
        pass
    reply.finish()


def test_sticky_lore_keeps_firing_across_turns_and_a_reopened_chat(
    engine: LlamaEngine, store: ChatStore, lw_home: Home
) -> None:
    session = _session(engine, store, lw_home)
    try:
        assembly = session.assembly("Do you hear the bell?")
        prompt = session.fmt.render(assembly.messages)
        system = assembly.messages[0].content
        assert "No ship leaves at night." in system  # constant lore sits in the fixed part
        assert "The tide bell rings at dusk." in assembly.messages[-1].content
        notes = next(s for s in assembly.sections if s.name == "per-turn notes")
        assert any("Tide bell" in line and "'bell'" in line for line in notes.lines)
        assert prompt.count("The tide bell rings") == 1
        _say(session, "Do you hear the bell?")
        assert session.chat is not None
        chat_id = session.chat.id
        # no key in the window any more (scan depth 1), but the entry is sticky for 2 turns
        assert "The tide bell" in session.assembly("What time is it?").messages[-1].content
    finally:
        session.close()
    reopened = _session(engine, store, lw_home, resume=chat_id)
    try:
        assert "The tide bell" in reopened.assembly("What time is it?").messages[-1].content
        _say(reopened, "What time is it?")
        _say(reopened, "And now?")
        later = reopened.assembly("Anything else?")
        assert "The tide bell" not in later.messages[-1].content  # the sticky span ran out
        unused = next(s for s in later.sections if s.name == "lore not used")
        assert any(line.startswith("budget:") for line in unused.lines)
    finally:
        reopened.close()


def _fill(store: ChatStore, chat_id: int, turns: int) -> None:
    for i in range(turns):
        fact = "Orla hid the silver key under the third flagstone." if i == 0 else ""
        store.add_message(
            chat_id,
            "user",
            f"Question {i} about the archive ledgers. {fact}"
            + " The ledgers are old and the ink is faded." * 12,
        )
        store.add_message(
            chat_id,
            "assistant",
            f"Answer {i}: the ledgers list ships and cargo."
            + " Each page is dated and signed by the harbour master." * 12,
        )


def test_evicted_turns_are_summarised_and_recalled_when_relevant(
    engine: LlamaEngine, store: ChatStore, lw_home: Home
) -> None:
    session = _session(engine, store, lw_home)
    try:
        assert session.saved_chat() is not None and session.summariser is not None
        assert session.chat is not None
        session.summariser.close()  # the session's own, with shorter recaps to keep this quick
        session.summariser = Summariser(
            store, engine, session.fmt, char="Orla", user="User", max_tokens=60
        )
        _fill(store, session.chat.id, 9)
        session.reload()
        line = "Where did you hide the silver key?"
        assembly = session.assembly(line)
        assert assembly.first_kept > 0  # the 2048-token window dropped the oldest turns
        notes = next(s for s in assembly.sections if s.name == "per-turn notes")
        assert any(n.startswith("recalled message") and "silver" in n for n in notes.lines)
        assert "third flagstone" in assembly.messages[-1].content  # recalled into the notes
        _say(session, line)
        assert session.summariser.wait(300)
        assert not session.summariser.errors, session.summariser.errors
        summaries = current_summary(store, session.chat.id)
        assert summaries and summaries[0].text.strip()
        again = session.assembly("Thank you.")
        summary = next(s for s in again.sections if s.name == "summary")
        assert summary.tokens > 0 and "summary of messages" in summary.lines[0]
        assert again.messages[1].content.startswith("Story so far: ")
    finally:
        session.close()


def test_closing_saves_the_kv_cache_and_resuming_restores_it(
    engine: LlamaEngine, store: ChatStore, lw_home: Home
) -> None:
    session = _session(engine, store, lw_home)
    session.saved_chat()
    assert session.chat is not None
    _fill(store, session.chat.id, 4)
    session.reload()
    _say(session, "Tell me about the ledgers.")
    chat_id = session.chat.id
    session.close()
    assert session.state_path is not None and session.state_path.is_file()
    engine.reset_cache()
    reopened = _session(engine, store, lw_home, resume=chat_id)
    try:
        assert reopened.restore_cache()
        before = engine.decoded_tokens()
        _say(reopened, "Which ship came last?")
        evaluated = engine.decoded_tokens() - before
        assert evaluated < engine.count_tokens(reopened.last_prompt) // 4, evaluated
    finally:
        reopened.close()


def test_state_variables_ride_in_the_per_turn_notes(
    engine: LlamaEngine, store: ChatStore, lw_home: Home
) -> None:
    from app.models import resolve_model
    from app.prompts.formats import choose_format
    from app.sheets.sheet import StateVar

    info = resolve_model(lw_home, None)
    sheet = _sheet().model_copy(update={"state": [StateVar(name="trust", type="int", default=2)]})
    session = start_session(
        engine,
        info,
        choose_format(None, info),
        sheet,
        "orla",
        SETTINGS,
        store=store,
        summaries=False,
    )
    session.saved_chat()
    assert session.chat is not None
    assert "State: trust = 2" in session.assembly("Hello").messages[-1].content
    session.chat = store.update_chat(session.chat.id, meta={"state": {"trust": 5}})
    assembly = session.assembly("Hello")
    assert "State: trust = 5" in assembly.messages[-1].content
    notes = next(s for s in assembly.sections if s.name == "per-turn notes")
    assert "state: trust = 5" in notes.lines
