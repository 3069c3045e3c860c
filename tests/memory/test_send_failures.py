"""The user's line is stored before anything can fail: a lore scan, the template or the engine
failing leaves the line in the database and a `failed` reply row saying why (real model, real
SQLite)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import pytest
from support import one_line_error, run_cli

from app.engine.base import Sampling
from app.errors import LoreweaverError
from app.home import Home
from app.memory.store import ChatStore
from app.prompts.formats import PromptFormat
from app.prompts.messages import Message
from app.prompts.segments import Prompt
from app.session import ChatSession
from app.session_start import start_session
from app.settings import SamplingSettings, Settings
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
    sheet = Sheet(name="Orla", description="Keeper of the archive.", first_message="Orla looks up.")
    opened = start_session(
        engine, info, choose_format(None, info), sheet, "orla", SETTINGS, store=store, home=lw_home
    )
    yield opened
    opened.close()


class _BrokenTemplate:
    """A prompt format whose render fails, as a bad chat template would."""

    def __init__(self, real: PromptFormat) -> None:
        self.id, self.stop, self.note = real.id, real.stop, real.note

    def render(self, messages: Sequence[Message], *, add_generation_prompt: bool = True) -> Prompt:
        raise ValueError("template exploded")


class _RefusingEngine:
    """The real engine, except that generation refuses to start."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def generate(self, *args: object, **kwargs: object) -> Any:
        raise LoreweaverError("prompt of 9999 tokens does not fit the context")


def _boom(*args: object, **kwargs: object) -> Any:
    raise RuntimeError("lore scan exploded")


def _path(store: ChatStore, session: ChatSession) -> list[Any]:
    assert session.chat is not None
    return store.active_path(session.chat.id)


@pytest.mark.parametrize("fault", ["lore", "template", "engine"])
def test_a_failure_after_send_keeps_the_line_and_marks_the_reply_failed(
    fault: str, session: ChatSession, store: ChatStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    if fault == "lore":
        monkeypatch.setattr("app.session_prompt.scan_lore", _boom)
    elif fault == "template":
        session.fmt = _BrokenTemplate(session.fmt)
    else:
        session.engine = _RefusingEngine(session.engine)
    with pytest.raises(LoreweaverError) as caught:
        session.send("Where is the ledger?", SHORT)
    message = str(caught.value)
    assert message.startswith("no reply: ") and "\n" not in message
    assert "your line is saved" in message
    path = _path(store, session)
    line, reply = path[-2], path[-1]
    assert (line.role, line.content, line.status) == ("user", "Where is the ledger?", "complete")
    assert (reply.role, reply.content, reply.status) == ("assistant", "", "failed")
    reason = {
        "lore": "lore scan exploded",
        "template": "template exploded",
        "engine": "does not fit the context",
    }[fault]
    assert reason in reply.meta["error"]
    assert session.last_failure() == reply.meta["error"]
    assert session.history[-1] == Message("user", "Where is the ledger?")
    assert session.ids[-1] == line.id
    assert not [m for m in path if m.status == "streaming"]


def test_ctrl_c_while_building_the_prompt_keeps_the_line(
    session: ChatSession, store: ChatStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*args: object, **kwargs: object) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr("app.session_prompt.scan_lore", interrupted)
    with pytest.raises(KeyboardInterrupt):
        session.send("Hello?", SHORT)
    *_, line, reply = _path(store, session)
    assert line.content == "Hello?"
    assert reply.status == "failed" and "stopped" in reply.meta["error"]


def test_after_a_failure_the_next_line_replies_and_regenerate_retries(
    session: ChatSession, store: ChatStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = session.engine
    session.engine = _RefusingEngine(real)
    with pytest.raises(LoreweaverError):
        session.send("First try.", SHORT)
    session.engine = real
    reply = session.regenerate(SHORT)
    for _ in reply:
        pass
    reply.finish()
    path = _path(store, session)
    assert [m.content for m in path if m.role == "user"] == ["First try."]
    assert path[-1].status == "complete" and path[-1].content == reply.text
    assert session.last_failure() is None


def test_the_cli_says_one_line_and_chats_show_names_the_failure() -> None:
    driver = (
        "import sys, app.session_prompt as s\n"
        "def boom(*a, **k): raise RuntimeError('lore scan exploded')\n"
        "s.scan_lore = boom\n"
        "from app.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    import subprocess
    import sys

    from support import REPO

    failed = subprocess.run(
        [sys.executable, "-c", driver, "chat", "brenna", "--say", "Hi there"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    line = one_line_error(failed)
    assert "no reply: lore scan exploded" in line and "your line is saved in chat" in line
    chat_id = line.rsplit("chat ", 1)[1].rstrip(")")
    shown = run_cli("chats", "show", chat_id)
    assert shown.returncode == 0, shown.stderr
    assert "Hi there" in shown.stdout
    assert "[failed: lore scan exploded]" in shown.stdout
