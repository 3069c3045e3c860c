"""The long-chat benchmark on a shortened run: the tokens-evaluated target is a count, so it is
checked here; its timings are only reported by `loreweaver bench --long-chat`."""

from __future__ import annotations

from pathlib import Path

from support import one_line_error, run_cli

from app.bench.chat_script import new_tokens
from app.bench.long_chat import run_long_chat
from app.home import Home
from app.models import resolve_model


def test_new_tokens_counts_what_the_previous_prompt_lacked() -> None:
    fixed, old, kept = list(range(100)), list(range(1000, 1300)), list(range(2000, 2400))
    assert new_tokens(fixed + old, fixed + old + [7, 8, 9]) == 3  # appended
    # old turns dropped after the fixed part: the kept run moved, only the tail is new
    assert new_tokens(fixed + old + kept, fixed + kept + [5] * 40) == 40
    # a shared run shorter than 64 tokens is re-read, so it counts as new
    assert new_tokens(fixed + old[:50], fixed + [1] * 10 + old[:50]) == 60


def test_a_shortened_long_chat_evaluates_only_new_tokens_and_the_control_does_not(
    tmp_path: Path,
) -> None:
    info = resolve_model(Home(tmp_path), None)
    # 8 turns: the window first fills at turn 5 (a 877-token first prompt, ~180 tokens a turn)
    report = run_long_chat(info, turns=8, n_ctx=1536, n_threads=2, resume=False)
    turns = report.app.turns
    assert [t.turn for t in turns] == list(range(1, 9))
    # the window filled: some turn dropped old turns (its prompt is shorter than the last one)
    shifts = [
        b for a, b in zip(turns, turns[1:], strict=False) if b.prompt_tokens < a.prompt_tokens
    ]
    assert shifts, [t.prompt_tokens for t in turns]
    # ... and even then only a fraction of the prompt went through the model
    assert all(t.evaluated_tokens < t.prompt_tokens / 2 for t in shifts)
    figures = report.as_dict()
    assert figures["evaluated_within_new_plus_32_fraction"] >= 0.95, [
        (t.turn, t.new_tokens, t.evaluated_tokens) for t in turns
    ]
    control = figures["control"]
    assert len(control["turns"]) >= 4
    assert control["evaluated_within_new_plus_32_fraction"] < 0.5
    assert all(t["evaluated_tokens"] >= t["prompt_tokens"] - 1 for t in control["turns"])


def test_bench_flags_are_checked() -> None:
    line = one_line_error(run_cli("bench", "--long-chat", "--turns", "0"))
    assert line.endswith("--turns must be between 1 and 100000, got 0")
