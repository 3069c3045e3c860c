"""The chat controller without a screen: its runs go inline (`background` calls at once) and its
events are collected, so each rule is checked directly (a scripted engine, a real store)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from support import REPO
from tui.fake_engine import FakeEngine

from app.errors import LoreweaverError
from app.home import Home
from app.memory.store import ChatStore
from app.models import ModelInfo, resolve_model
from app.settings import Settings, load_settings
from app.tui.chat_events import ChatEventKind, ChatOpened, DraftChunk, ReplyDone, ReplyStarted
from app.tui.controller import BUSY, LOADING, ChatController, Refused, after


class Harness:
    def __init__(self, home: Home, *replies: str) -> None:
        self.events: list[ChatEventKind] = []
        self.store = ChatStore.open(home)
        self.engine = FakeEngine(replies=[[text] for text in replies])
        self.info: ModelInfo = resolve_model(home, None)  # the bundled model's description
        self.chat = ChatController(
            home, self.store, Settings(), emit=self._emit, background=self._inline
        )

    def _emit(self, event: ChatEventKind) -> None:
        self.events.append(event)
        if isinstance(event, ReplyDone) or (isinstance(event, DraftChunk) and event.done):
            self.chat.finished()  # what the screen does once it has shown the end

    def _inline(self, work: Callable[[], object], group: str) -> None:
        work()

    def ready(self) -> ChatController:
        self.chat.use_engine(self.engine, self.info)
        return self.chat


@pytest.fixture
def harness(lw_home: Home) -> Iterator[Harness]:
    h = Harness(lw_home, "Two silver.", "Three.", "Four.")
    yield h
    h.chat.close()
    h.store.close()


def test_nothing_runs_before_the_model_and_the_chat_opens_once_ready(harness: Harness) -> None:
    chat = harness.chat
    chat.open("brenna")
    assert chat.session is None and chat.preview()[0].speaker == "Brenna Ironhand"
    with pytest.raises(Refused, match=LOADING):
        chat.send("hello")
    harness.ready()
    opened = [e for e in harness.events if isinstance(e, ChatOpened)]
    # A new chat is stored at its first line: opened, it has no id, and nothing to relaunch into.
    assert opened and opened[-1].character == "brenna" and opened[-1].chat_id is None
    assert chat.session is not None and chat.session.chat is None
    chat.send("hello")
    saved = chat.session.chat
    assert saved is not None and load_settings(harness.chat.where).last_chat == saved.id


def test_send_streams_a_reply_and_the_status_shows_its_figures(harness: Harness) -> None:
    chat = harness.ready()
    chat.open("brenna")
    chat.send("Price of nails?")
    kinds = [type(e).__name__ for e in harness.events]
    assert kinds[-3:] == ["ReplyStarted", "ReplyChunk", "ReplyDone"]
    assert [s.text for s in chat.shown()][-2:] == ["Price of nails?", "Two silver."]
    assert "tok/s" in chat.status(120) and not chat.busy


def test_a_busy_session_refuses_other_actions(harness: Harness) -> None:
    chat = harness.ready()
    chat.open("brenna")
    chat.busy = True  # as while a reply streams in its worker
    for action in (
        chat.regenerate,
        chat.continue_,
        chat.impersonate,
        chat.undo_delete,
        lambda: chat.send("x"),
        lambda: chat.act_on(-1, "delete"),
        lambda: chat.open("hobb"),
    ):
        with pytest.raises(Refused, match=BUSY):
            action()


def test_switching_chats_and_models_clears_the_last_reply_figures(harness: Harness) -> None:
    chat = harness.ready()
    chat.open("brenna")
    chat.send("Price of nails?")
    assert "tok/s" in chat.status(120)
    chat.open("hobb")
    assert "tok/s" not in chat.status(120) and "ctx 4096" in chat.status(120)
    chat.send("Orders?")
    chat.use_engine(None, None)  # a new context size: the engine reloads
    assert "tok/s" not in chat.status(120)
    assert chat.status(80) == ""  # nothing to say until the model is back


def test_delete_names_what_goes_and_undo_brings_it_back(harness: Harness) -> None:
    chat = harness.ready()
    chat.open("brenna")
    chat.send("Price of nails?")
    chat.send("And a hammer?")
    assert chat.what_delete_takes(1) == "this message and the 3 after it"
    assert chat.what_delete_takes(-1) == "this message"
    before = [s.text for s in chat.shown()]
    chat.act_on(1, "delete")
    assert [s.text for s in chat.shown()] == before[:1]
    chat.undo_delete()
    assert [s.text for s in chat.shown()] == before


def test_branch_moves_to_the_new_chat_and_it_is_remembered(harness: Harness, lw_home: Home) -> None:
    chat = harness.ready()
    chat.open("brenna")
    chat.send("Price of nails?")
    assert chat.session is not None and chat.session.chat is not None
    first = chat.session.chat.id
    chat.act_on(-1, "branch")
    assert chat.session is not None and chat.session.chat is not None
    branched = chat.session.chat.id
    assert branched != first
    assert load_settings(lw_home).last_chat == branched
    # relaunch: the next controller opens there
    again = ChatController(
        lw_home,
        harness.store,
        load_settings(lw_home),
        emit=lambda e: None,
        background=lambda w, g: None,
    )
    assert again.first_chat() == ("brenna", branched)


def test_first_chat_without_a_remembered_one_is_the_first_character(lw_home: Home) -> None:
    with ChatStore.open(lw_home) as store:
        chat = ChatController(
            lw_home,
            store,
            Settings(last_chat=999),
            emit=lambda e: None,
            background=lambda w, g: None,
        )
        assert chat.first_chat() == ("ash_widow", None)  # 999 does not exist


def test_swipe_past_the_last_regenerates_and_impersonate_streams_a_draft(harness: Harness) -> None:
    chat = harness.ready()
    chat.open("brenna")
    chat.send("Hello.")
    chat.act_on(-1, "swipe", 1)
    assert chat.shown()[-1].text == "Three." and chat.shown()[-1].swipe == (2, 2)
    chat.act_on(-1, "swipe", -1)
    assert chat.shown()[-1].text == "Two silver."
    harness.events.clear()
    chat.impersonate()
    drafted = "".join(e.text for e in harness.events if isinstance(e, DraftChunk))
    assert drafted == "Four." and not chat.busy
    assert not any(isinstance(e, ReplyStarted) for e in harness.events)  # nothing was sent


def test_failures_are_one_line_errors(harness: Harness) -> None:
    chat = harness.ready()
    chat.open("brenna")
    with pytest.raises(LoreweaverError, match="nothing to undo"):
        chat.undo_delete()
    with pytest.raises(LoreweaverError, match="unknown message action"):
        chat.act_on(0, "explode")
    with pytest.raises(LoreweaverError):
        chat.open("nobody")


def test_after_counts_what_follows() -> None:
    assert [after(n) for n in (0, 1, 6)] == [
        "this message",
        "this message and the one after it",
        "this message and the 6 after it",
    ]


def test_the_controller_imports_nothing_of_textual() -> None:
    import subprocess
    import sys

    probe = (
        "import sys, app.tui.controller; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert out.stdout.strip() == "[]"


def test_the_status_names_the_characters_lora_adapters(harness: Harness) -> None:
    from pathlib import Path

    from app.engine.adapters import Adapter

    chat = harness.ready()
    chat.open("brenna")
    assert "LoRA" not in chat.status(120)
    # a group scene's last speaker left its set on the engine: the chat's next reply takes
    # that off again, so the status names the chat's own set, not the engine's of the moment
    harness.engine.adapters = (Adapter(Path("/models/tam-voice.gguf"), 1.0),)
    assert "LoRA" not in chat.status(120)
    assert chat.session is not None
    chat.session.adapters = (Adapter(Path("/models/brenna-voice.gguf"), 0.8),)
    assert "LoRA brenna-voice.gguf×0.8" in chat.status(120)
