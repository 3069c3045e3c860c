"""Stop strings, presets and the prompt-format warning from the command line."""

from __future__ import annotations

import json

from support import one_line_error, run_cli


def test_chat_stop_flag_ends_the_reply_and_is_kept_with_the_chat() -> None:
    result = run_cli(
        "chat",
        "brenna",
        "--say",
        "Tell me about your forge.",
        "--seed",
        "4",
        "--max-tokens",
        "60",
        "--stop",
        "e",
        "--stop",
        "E",
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert "e" not in result.stdout.lower()
    shown = json.loads(run_cli("chats", "show", "1", "--json").stdout)
    assert shown["meta"]["stop"] == ["e", "E"]
    assert "stop strings" in one_line_error(run_cli("chat", "brenna", "--stop", "", "--say", "x"))


def test_a_prompt_format_the_model_was_not_tuned_on_is_a_warning() -> None:
    warned = run_cli("prompt", "brenna", "--template", "llama3", "--say", "Hi.")
    assert warned.returncode == 0
    assert "loreweaver: warning: prompt format 'llama3' does not match" in warned.stderr
    assert "'chatml'" in warned.stderr
    fine = run_cli("prompt", "brenna", "--template", "chatml", "--say", "Hi.")
    assert "warning" not in fine.stderr


def test_presets_save_use_list_remove() -> None:
    assert run_cli("presets", "use", "precise").returncode == 0
    assert run_cli("presets", "save", "mine").stdout.strip() == (
        "saved the current sampler settings as preset 'mine'"
    )
    rows = {r["name"]: r for r in json.loads(run_cli("presets", "list", "--json").stdout)}
    assert rows["mine"]["temperature"] == 0.3 and not rows["mine"]["builtin"]
    assert rows["greedy"]["builtin"]
    assert run_cli("presets", "use", "greedy").returncode == 0
    assert run_cli("presets", "use", "mine").returncode == 0
    assert "mine (yours): temperature=0.3" in run_cli("presets", "list").stdout
    assert "built-in" in one_line_error(run_cli("presets", "save", "greedy"))
    assert "built-in" in one_line_error(run_cli("presets", "remove", "creative"))
    assert run_cli("presets", "remove", "mine").returncode == 0
    assert "no preset named 'mine'" in one_line_error(run_cli("presets", "use", "mine"))
