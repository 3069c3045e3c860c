"""State and trust from the command line: `/state` in `chat`, and `chats state`."""

from __future__ import annotations

import json

from support import one_line_error, run_cli


def _chat_id() -> int:
    return int(json.loads(run_cli("chats", "list", "--json").stdout)[0]["id"])


def test_slash_state_sets_and_lists_and_refuses_bad_values_in_a_piped_chat() -> None:
    result = run_cli(
        "chat",
        "brenna",
        "-u",
        "Ann",
        "--max-tokens",
        "2",
        "--seed",
        "1",
        stdin="/state trust 4\n/state trust:Old Tam -5\n/state sword_sold maybe\n"
        "/state trust:user 101\n/state\nHello.\n",
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert "trust = 4" in result.stdout and "trust:Old Tam = -5" in result.stdout
    assert "trust:Ann = +0" in result.stdout
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 2 and "Traceback" not in result.stderr
    assert "sword_sold is bool" in errors[0] and "between -100 and 100" in errors[1]
    # the chat is stored at its first line ("Hello."), with the state set before it
    shown = json.loads(run_cli("chats", "state", str(_chat_id()), "--json").stdout)
    assert {row["name"]: row["value"] for row in shown}["trust"] == 4


def test_chats_state_sets_a_value_that_the_next_prompt_carries() -> None:
    run_cli("chat", "brenna", "-u", "Ann", "--say", "Hello.", "--max-tokens", "2", "--seed", "1")
    chat = str(_chat_id())
    result = run_cli("chats", "state", chat, "trust:user", "30")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "trust:Ann = +30"
    prompt = run_cli("prompt", "brenna", "--chat", chat, "--say", "Hi.")
    assert "trust with Ann (now) = +30" in prompt.stdout
    assert "trust:Ann = +30" in run_cli("chats", "state", chat).stdout


def test_chats_state_errors_are_one_line() -> None:
    run_cli("chat", "brenna", "--say", "Hello.", "--max-tokens", "2", "--seed", "1")
    chat = str(_chat_id())
    assert "give a value" in one_line_error(run_cli("chats", "state", chat, "trust"))
    assert "whole number" in one_line_error(run_cli("chats", "state", chat, "trust", "lots"))
    assert "no chat with id 999" in one_line_error(run_cli("chats", "state", "999"))
    assert "known: trust, sword_sold" in one_line_error(run_cli("chats", "state", chat, "x", "1"))
