"""A background summary that fails is told, never lost: the summariser keeps it in the chat's
metadata until one succeeds, and `chat` (stderr) and `prompt --explain` say it. The real
summariser, the real model, a real SQLite store; the failure is the summary's model call
refusing (patched), so it happens every time."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from support import run_cli

from app.errors import LoreweaverError
from app.home import Home
from app.memory.store import ChatStore
from app.memory.summaries import SUMMARY_FAILED, Summariser
from app.models import resolve_model
from app.prompts.formats import choose_format

if TYPE_CHECKING:
    from app.engine.llamacpp import LlamaEngine

REFUSAL = "the model ran out of memory"


def _refuse(*args: object, **kwargs: object) -> str:
    raise LoreweaverError(REFUSAL)


def _failed_summary(
    engine: LlamaEngine, store: ChatStore, home: Home
) -> tuple[int, Summariser, list[str]]:
    """A brenna chat whose summary of two turns has just failed; the summariser and what its
    `on_error` was told."""
    chat = store.create_chat("brenna")
    ids = [
        store.add_message(chat.id, "user", "Where is the ledger?").id,
        store.add_message(chat.id, "assistant", "Under the loose flagstone.").id,
    ]
    fmt = choose_format(None, resolve_model(home, None))
    summariser = Summariser(store, engine, fmt, char="Brenna", user="User", max_tokens=12)
    told: list[str] = []
    summariser.on_error = told.append
    summariser.submit(chat.id, ids)
    assert summariser.wait(300)
    return chat.id, summariser, told


def test_a_failed_summary_is_told_and_kept_until_one_succeeds(
    engine: LlamaEngine, store: ChatStore, lw_home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("app.memory.summaries.summariser.summarise", _refuse)
    chat_id, summariser, told = _failed_summary(engine, store, lw_home)
    try:
        line = f"summary of chat {chat_id} failed: {REFUSAL}"
        assert summariser.errors == told == [line]
        assert store.get_chat(chat_id).meta[SUMMARY_FAILED] == line
        monkeypatch.undo()  # the model answers again: the span is summarised, the note goes
        summariser.submit(chat_id, [m.id for m in store.active_path(chat_id)])
        assert summariser.wait(300)
        assert summariser.written and summariser.errors == [line]
        assert store.get_chat(chat_id).meta[SUMMARY_FAILED] is None
    finally:
        summariser.close()


def test_chat_warns_and_prompt_explain_shows_a_failed_summary(
    engine: LlamaEngine, store: ChatStore, lw_home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("app.memory.summaries.summariser.summarise", _refuse)
    chat_id, summariser, _ = _failed_summary(engine, store, lw_home)
    summariser.close()
    line = f"summary of chat {chat_id} failed: {REFUSAL}"
    explained = run_cli("prompt", "brenna", "--chat", str(chat_id), "--say", "Hi.", "--explain")
    assert explained.returncode == 0, explained.stderr
    summary_row = next(row for row in explained.stdout.splitlines() if "summary" in row)
    assert "! summary of chat" in summary_row and REFUSAL in explained.stdout
    chatted = run_cli(
        "chat", "brenna", "--resume", str(chat_id), "--say", "Hi.", "--max-tokens", "4"
    )
    assert chatted.returncode == 0, chatted.stderr
    assert f"loreweaver: warning: {line}" in chatted.stderr.splitlines()
