"""`--note` on `chat` and `prompt`: kept with the chat, shown by `--explain`, checked clearly."""

from __future__ import annotations

import json

import pytest
from support import one_line_error, run_cli


def test_chat_note_is_stored_and_reaches_the_prompt() -> None:
    result = run_cli(
        "chat",
        "brenna",
        "--say",
        "Hello.",
        "--seed",
        "1",
        "--max-tokens",
        "4",
        "--note",
        "Brenna hums a tune.",
        "--note-frequency",
        "1",
    )
    assert result.returncode == 0, result.stderr
    chat_id = json.loads(run_cli("chats", "list", "--json").stdout)[0]["id"]
    explained = run_cli("prompt", "brenna", "--chat", str(chat_id), "--say", "Again.", "--explain")
    assert explained.returncode == 0, explained.stderr
    assert "author's note (in the per-turn notes, every turn)" in explained.stdout
    shown = run_cli("prompt", "brenna", "--chat", str(chat_id), "--say", "Again.")
    assert "Brenna hums a tune." in shown.stdout


def test_prompt_explain_names_a_note_at_a_depth() -> None:
    result = run_cli(
        "prompt",
        "brenna",
        "--say",
        "Hi.",
        "--explain",
        "--note",
        "Be terse.",
        "--note-depth",
        "1",
        "--note-role",
        "assistant",
    )
    assert result.returncode == 0, result.stderr
    assert "author's note" in result.stdout and "assistant message at depth 1" in result.stdout


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (["--note-depth", "3"], "--note-depth needs --note"),
        (["--note", "x", "--note-role", "narrator"], "role"),
        (["--note", "x", "--note-frequency", "-1"], "frequency"),
        (["--note", "x", "--note-depth", "nine"], "--note-depth"),
    ],
)
def test_bad_note_flags_are_one_line(flags: list[str], words: str) -> None:
    line = one_line_error(run_cli("prompt", "brenna", *flags))
    assert words in line
    assert run_cli("chats", "list", "--json").stdout.strip() in ("[]", "")
