"""`loreweaver chat` and `loreweaver prompt` as a user runs them: real processes, real model."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import REPO, one_line_error, run_cli

from app.home import Home


def test_single_turn_streams_a_reply() -> None:
    result = run_cli(
        "chat", "brenna", "--say", "How much for a sword?", "--seed", "3", "--max-tokens", "24"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    assert "Traceback" not in result.stderr


def test_fixed_seed_gives_the_same_reply() -> None:
    args = (
        "chat",
        "old_tam",
        "--say",
        "Any news from the road?",
        "--seed",
        "42",
        "--max-tokens",
        "30",
    )
    first, second = run_cli(*args), run_cli(*args)
    assert first.returncode == second.returncode == 0
    assert first.stdout == second.stdout
    assert first.stdout.strip()


def test_piped_stdin_gives_one_reply_per_line(lw_home: Home) -> None:
    result = run_cli(
        "chat",
        "kestrel",
        "--seed",
        "1",
        "--max-tokens",
        "12",
        stdin="Hello there.\nWant to split the bounty?\n",
    )
    assert result.returncode == 0, result.stderr
    assert len([line for line in result.stdout.splitlines() if line.strip()]) >= 2


def test_ctrl_c_stops_the_reply_not_the_program() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "chat", "brenna", "--seed", "5", "--max-tokens", "2000"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write("Tell me a very long story about every sword you ever forged.\n")
        proc.stdin.flush()
        first = proc.stdout.read(1)  # blocks until the reply starts streaming
        assert first
        time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        # the program goes on reading: a command after the stop is answered, then EOF ends it
        out, err = proc.communicate(input="/help\n", timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "(stopped)" in first + out
    assert "/quit" in out.split("(stopped)", 1)[-1], "the command after the stop went unanswered"
    assert "Traceback" not in err


def test_prompt_prints_the_exact_gemma_prompt_with_the_persona() -> None:
    result = run_cli("prompt", "brenna", "--template", "gemma", "--say", "Hi there")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert text.startswith("<bos><start_of_turn>user\n")
    assert "blacksmith of Harrowford" in text  # the persona is kept, not dropped
    assert text.endswith("<start_of_turn>model\n")
    # the per-turn notes (triggered lore of the Harrowford world book) ride in the last user turn
    last_turn = text.rsplit("<start_of_turn>user\n", 1)[1]
    assert last_turn.startswith("Hi there\n\n[Notes for Brenna Ironhand's reply")
    assert "Lore:" in last_turn and last_turn.endswith("]<end_of_turn>\n<start_of_turn>model\n")
    assert "tokens" in result.stderr and "format gemma" in result.stderr


def test_prompt_uses_the_gguf_template_by_default() -> None:
    result = run_cli("prompt", "brenna", "--say", "Hi")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("<|im_start|>system\nYou are Brenna Ironhand.")
    last_turn = result.stdout.rsplit("<|im_start|>user\n", 1)[1]
    assert last_turn.startswith("Hi\n\n[Notes for Brenna Ironhand's reply")
    assert last_turn.endswith("]<|im_end|>\n<|im_start|>assistant\n")


def test_unknown_character_is_one_clear_line() -> None:
    line = one_line_error(run_cli("chat", "nobody", "--say", "hi"))
    assert "unknown character 'nobody'" in line and "brenna" in line


def test_broken_sheet_yaml_is_one_clear_line(tmp_path: Path) -> None:
    sheet = tmp_path / "broken.yaml"
    sheet.write_text("name: [unclosed\n", encoding="utf-8")
    line = one_line_error(run_cli("chat", str(sheet), "--say", "hi"))
    assert str(sheet) in line and "line" in line


def test_sheet_field_of_wrong_type_names_the_field(tmp_path: Path) -> None:
    sheet = tmp_path / "wrong.yaml"
    sheet.write_text("name: Wrong\npersonality: [a, b]\n", encoding="utf-8")
    line = one_line_error(run_cli("prompt", str(sheet)))
    assert f"{sheet}: personality: must be text, got a list" in line


def test_missing_model_path_is_one_clear_line(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.gguf"
    line = one_line_error(run_cli("chat", "brenna", "--model", str(missing), "--say", "hi"))
    assert str(missing) in line


def test_corrupt_gguf_is_one_clear_line(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.gguf"
    corrupt.write_bytes(b"GGUF" + os.urandom(64))
    line = one_line_error(run_cli("chat", "brenna", "--model", str(corrupt), "--say", "hi"))
    assert str(corrupt) in line


def test_unknown_template_family_is_one_clear_line() -> None:
    line = one_line_error(run_cli("prompt", "brenna", "--template", "vicuna"))
    assert "vicuna" in line and "chatml" in line


def test_version_and_help_do_not_load_the_engine() -> None:
    probe = (
        "import sys; from app.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "assert 'llama_cpp' not in sys.modules, 'engine imported'\n"
        "assert 'textual' not in sys.modules, 'tui imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr
    version = run_cli("--version")
    assert version.returncode == 0 and version.stdout.startswith("loreweaver ")


SAMPLES = sorted(p.stem for p in (REPO / "characters").glob("*.yaml"))


@pytest.mark.parametrize("character", SAMPLES)
def test_every_sample_chats_with_the_bundled_model(character: str) -> None:
    result = run_cli(
        "chat", character, "--say", "Hello. Who are you?", "--seed", "1", "--max-tokens", "16"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
