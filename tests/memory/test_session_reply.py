"""A reply owns its hold on the model, and planning a prompt changes nothing: the real model, a
real SQLite store. A reply that is finished, fails or is dropped unfinished lets background
summaries run again; `plan()` can run on any thread while a send is under way."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from app.engine.base import Sampling
from app.home import Home
from app.memory.store import ChatStore
from app.memory.summaries import Summariser
from app.session import ChatSession
from app.session_start import start_session
from app.settings import SamplingSettings, Settings
from app.sheets.lorebook import Lorebook, LoreEntry
from app.sheets.sheet import Sheet

if TYPE_CHECKING:
    from app.engine.llamacpp import LlamaEngine

SHORT = Sampling(temperature=0.0, max_tokens=4, seed=1)
SETTINGS = Settings(sampling=SamplingSettings(temperature=0.0, max_tokens=4, seed=1))


@pytest.fixture
def session(engine: LlamaEngine, store: ChatStore, lw_home: Home) -> Iterator[ChatSession]:
    from app.models import resolve_model
    from app.prompts.formats import choose_format

    info = resolve_model(lw_home, None)
    book = Lorebook(
        name="Harbour",
        entries=[LoreEntry(name="Tide bell", keys=["bell"], content="It rings at dusk.")],
    )
    sheet = Sheet(name="Orla", description="Harbour archivist.", character_book=book)
    opened = start_session(
        engine, info, choose_format(None, info), sheet, "orla", SETTINGS, store=store, home=lw_home
    )
    assert opened.saved_chat() is not None and opened.summariser is not None
    opened.summariser.close()  # the session's own, with short recaps to keep this quick
    opened.summariser = Summariser(store, engine, opened.fmt, char="Orla", user="U", max_tokens=8)
    yield opened
    opened.close()


def _span(session: ChatSession, store: ChatStore) -> list[int]:
    """Two stored turns for the summariser to recap."""
    assert session.chat is not None
    first = store.add_message(session.chat.id, "user", "Where is the ledger?").id
    second = store.add_message(session.chat.id, "assistant", "Under the desk.").id
    session.reload()
    return [first, second]


def _summary_waits_then_runs(session: ChatSession, store: ChatStore, release: Any) -> None:
    """A summary submitted while the reply holds the model does not run until `release()`."""
    summariser = session.summariser
    assert summariser is not None and session.chat is not None
    summariser.submit(session.chat.id, _span(session, store))
    assert not summariser.wait(0.5)  # held off the model by the reply
    release()
    assert summariser.wait(300), "the summary never ran: the reply kept its hold"
    assert summariser.written and not summariser.errors


def test_a_finished_reply_releases_the_model(session: ChatSession, store: ChatStore) -> None:
    reply = session.send("Hello.", SHORT)
    assert reply.holding
    _summary_waits_then_runs(session, store, reply.finish)
    assert not reply.holding


def test_a_reply_dropped_unfinished_releases_the_model(
    session: ChatSession, store: ChatStore
) -> None:
    reply = session.send("Hello.", SHORT)
    next(iter(reply))

    def drop() -> None:
        nonlocal reply
        del reply
        gc.collect()

    _summary_waits_then_runs(session, store, drop)


class _Failing:
    """A generation that breaks after its first piece, as a lost server or a bug would."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def __iter__(self) -> Iterator[str]:
        yield "The"
        self._real.cancel()
        raise RuntimeError("decode failed")


def test_a_reply_that_fails_releases_the_model(
    session: ChatSession, store: ChatStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = session.engine.generate
    monkeypatch.setattr(session.engine, "generate", lambda *a, **k: _Failing(real(*a, **k)))
    reply = session.send("Hello.", SHORT)
    monkeypatch.undo()

    def fail() -> None:
        with pytest.raises(RuntimeError, match="decode failed"):
            for _ in reply:
                pass
        assert not reply.holding

    _summary_waits_then_runs(session, store, fail)


def test_planning_a_prompt_changes_nothing_on_the_session(session: ChatSession) -> None:
    before = {name: (id(value), repr(value)) for name, value in vars(session).items()}
    meta = dict(session.chat_meta)
    plan = session.plan("Do you hear the bell?")
    assert plan.inputs.lore is not None
    assert [a.title for a in plan.inputs.lore.activated] == ["Tide bell"]
    assert "It rings at dusk." in plan.assembly.messages[-1].content
    assert plan.evicted == []
    after = {name: (id(value), repr(value)) for name, value in vars(session).items()}
    assert after == before and session.chat_meta == meta
