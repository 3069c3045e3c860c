"""End to end: the real `loreweaver` app in a real terminal (tmux), the real model, keystrokes in,
the streamed reply read back off the screen and found in the chat database."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest
from support import REPO

from app.home import Home
from app.memory.store import ChatStore
from app.session import greetings
from app.settings import SamplingSettings, Settings, save_settings
from app.sheets import library

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


def _tmux(*args: str) -> str:
    return subprocess.run(
        ["tmux", *args], check=True, capture_output=True, text=True, timeout=10
    ).stdout


@pytest.fixture
def terminal(lw_home: Home) -> Iterator[str]:
    session = f"lw-{uuid.uuid4().hex[:8]}"
    command = f"cd {REPO} && LOREWEAVER_HOME={lw_home.root} {sys.executable} -m app"
    _tmux("new-session", "-d", "-s", session, "-x", "110", "-y", "32", command)
    try:
        yield session
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def _screen(session: str) -> str:
    return _tmux("capture-pane", "-p", "-t", session)


def _wait_for(session: str, text: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        screen = _screen(session)
        if text in screen:
            return screen
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never appeared on screen:\n{_screen(session)}")


def test_type_a_line_and_read_the_streamed_reply(lw_home: Home, terminal: str) -> None:
    save_settings(lw_home, Settings(sampling=SamplingSettings(max_tokens=40, seed=4)))
    _wait_for(terminal, "Say something")
    _wait_for(terminal, "ctx ")  # the model is loaded: the status bar names its context
    _tmux("send-keys", "-t", terminal, "-l", "What is this place?")
    _tmux("send-keys", "-t", terminal, "Enter")
    screen = _wait_for(terminal, "tok/s")  # the reply's figures appear when it is done
    assert "What is this place?" in screen
    with ChatStore.open(lw_home) as store:
        chat = store.list_chats()[0]
        path = store.active_path(chat.id)
    assert [m.role for m in path][-2:] == ["user", "assistant"]
    reply = path[-1]
    assert reply.status == "complete" and reply.content.strip()

    def words(text: str) -> list[str]:
        """Words without Markdown marks: those are drawn as styles and bullets, not characters."""
        plain = text.translate(str.maketrans("", "", '*_"`#'))
        return [w for w in plain.split() if any(c.isalnum() for c in w)]

    opening = " ".join(words(reply.content)[:3])
    flat = " ".join(words(screen))
    assert opening in flat, f"{opening!r} not on screen:\n{screen}"


def _keys(session: str, *keys: str) -> None:
    for key in keys:
        _tmux("send-keys", "-t", session, key)
        time.sleep(0.15)  # a person's pace: each key is handled before the next


def _type(session: str, text: str) -> None:
    _tmux("send-keys", "-t", session, "-l", text)


def _chats(home: Home) -> list[tuple[int, list[str]]]:
    with ChatStore.open(home) as store:
        return [(c.id, [m.content for m in store.active_path(c.id)]) for c in store.list_chats()]


def test_branch_then_type(lw_home: Home, terminal: str) -> None:
    _wait_for(terminal, "ctx ")  # the model is loaded, the chat open
    assert _chats(lw_home) == []  # a new chat is stored at its first line (or action)
    _keys(terminal, "BTab", "Enter")  # the greeting focused, its actions
    _wait_for(terminal, "Branch here")
    _type(terminal, "branch")
    _keys(terminal, "Enter")
    _wait_for(terminal, "Branched into a new chat")
    _type(terminal, "still typing")
    screen = _wait_for(terminal, "still typing")  # the keyboard is alive, in the box
    assert "Say something" not in screen
    _keys(terminal, "C-q")
    deadline = time.monotonic() + 20
    while (
        time.monotonic() < deadline
        and subprocess.run(["tmux", "has-session", "-t", terminal], capture_output=True).returncode
        == 0
    ):
        time.sleep(0.2)
    after = _chats(lw_home)
    assert len(after) == 2  # the branch, and the chat it came from, whole
    assert sorted(len(path) for _, path in after) == [1, 1]


def test_edit_then_type(lw_home: Home, terminal: str) -> None:
    _wait_for(terminal, "ctx ")
    assert _chats(lw_home) == []  # a new chat is stored at its first line (or action)
    _keys(terminal, "BTab", "Enter")
    _wait_for(terminal, "Branch here")
    _type(terminal, "edit")
    _keys(terminal, "Enter")
    _wait_for(terminal, "message — Ctrl+S")  # the edit dialog
    _keys(terminal, "End")  # of the first screen line: the text is wrapped
    _type(terminal, " Welcome.")
    _keys(terminal, "C-s")
    _wait_for(terminal, "Welcome.")
    _type(terminal, "and then")  # typed right after saving: into the box, never at a message
    _wait_for(terminal, "and then")
    ((_, path),) = _chats(lw_home)  # stored by the edit
    assert len(path) == 1  # edited, nothing deleted
    with ChatStore.open(lw_home) as store:
        character = store.list_chats()[0].character_id
    _, sheet = library.load(lw_home, character)
    assert path[0].replace(" Welcome.", "", 1) == greetings(sheet, Settings().user_name)[0]
