"""KV reuse on the real model: prefix reuse, context shift without re-reading what remains, and
KV state files that let a reopened chat skip its history. Evaluation is measured with
llama.cpp's own perf counters, not taken from the engine's plan."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.engine.base import GenerationStats, Sampling
from app.engine.llamacpp import LlamaEngine, load_engine
from app.models import ModelInfo
from app.prompts.segments import Prompt

GREEDY = Sampling(temperature=0.0, max_tokens=4, seed=1)
SYSTEM = (
    "<|im_start|>system\nYou are Orla, keeper of the lighthouse archive. "
    + ("She answers briefly and precisely. " * 20)
    + "<|im_end|>\n"
)


def turn(i: int) -> str:
    words = " ".join(f"ledger{i}entry{j}" for j in range(14))
    return f"<|im_start|>user\nTurn {i}: {words}<|im_end|>\n"


def prompt(first: int, last: int) -> Prompt:
    """Hand-written ChatML: all of it markup, so its markers are control tokens."""
    return Prompt.markup(
        SYSTEM + "".join(turn(i) for i in range(first, last)) + "<|im_start|>assistant\n"
    )


def run(engine: LlamaEngine, text: str) -> tuple[str, int, GenerationStats]:
    before = engine.decoded_tokens()
    generation = engine.generate(text, GREEDY)
    out = "".join(generation)
    stats = generation.stats
    evaluated = engine.decoded_tokens() - before - max(stats.completion_tokens - 1, 0)
    return out, evaluated, stats


def test_appending_evaluates_only_the_new_turn(engine: LlamaEngine) -> None:
    engine.reset_cache()
    run(engine, prompt(0, 10))
    grown = prompt(0, 11)
    _, evaluated, stats = run(engine, grown)
    new = engine.count_tokens(grown) - engine.count_tokens(prompt(0, 10)) + 3  # + "assistant\n"
    assert evaluated == stats.evaluated_tokens  # what the engine says is what llama.cpp did
    assert evaluated <= new + 2, (evaluated, new)


def test_dropping_old_turns_shifts_the_cache_instead_of_re_reading(engine: LlamaEngine) -> None:
    engine.reset_cache()
    run(engine, prompt(0, 30))
    shifted = prompt(10, 31)  # turns 0-9 evicted after the system prompt, turn 30 appended
    out, evaluated, stats = run(engine, shifted)
    total = engine.count_tokens(shifted)
    assert stats.shifted_tokens > total // 2  # the kept turns moved, not re-read
    assert evaluated == stats.evaluated_tokens
    assert evaluated < total // 5, (evaluated, total)
    engine.reset_cache()
    fresh, full, _ = run(engine, shifted)
    assert full >= total - 1
    assert out.strip() and fresh.strip()


def test_a_saved_kv_state_restores_a_chat_in_another_engine(
    engine: LlamaEngine,
    bundled_info: ModelInfo,
    tmp_path: Path,
) -> None:
    engine.reset_cache()
    history = prompt(0, 25)
    expected, _, _ = run(engine, history)
    state = tmp_path / "chat.lwkv"
    size = engine.save_state_file(state)
    assert size == state.stat().st_size > 0
    reopened = load_engine(bundled_info, n_threads=2, n_ctx_cap=4608)
    try:
        following = prompt(0, 26)
        restored = reopened.load_state_file(state, following)
        assert restored is not None and len(restored) >= engine.count_tokens(history) - 1
        _, evaluated, _ = run(reopened, following)
        assert evaluated <= engine.count_tokens(turn(25)) + 4, evaluated
        # the restored cache gives the same greedy reply as evaluating from scratch
        reopened.reset_cache()
        assert reopened.load_state_file(state, history) is not None
        again, _, _ = run(reopened, history)
        assert again == expected
    finally:
        reopened.close()


@pytest.mark.parametrize("damage", ["truncate", "flip", "junk"])
def test_a_damaged_state_file_is_ignored(engine: LlamaEngine, tmp_path: Path, damage: str) -> None:
    engine.reset_cache()
    run(engine, prompt(0, 5))
    state = tmp_path / "chat.lwkv"
    engine.save_state_file(state)
    data = bytearray(state.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "flip":
        data[-100] ^= 0xFF
    else:
        data = bytearray(b"not a state file at all")
    state.write_bytes(bytes(data))
    engine.reset_cache()
    assert engine.load_state_file(state, prompt(0, 6)) is None
    _, evaluated, _ = run(engine, prompt(0, 6))  # nothing half-loaded: a clean full read
    assert evaluated >= engine.count_tokens(prompt(0, 6)) - 1
