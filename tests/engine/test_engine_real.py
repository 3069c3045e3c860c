"""The llama.cpp engine on the real bundled model: streaming, stops, cancel, seeds, KV reuse."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from app.engine.base import Sampling
from app.engine.llamacpp import LlamaEngine, load_engine, load_path
from app.errors import LoreweaverError

PROMPT = (
    "<|im_start|>system\nYou are Brenna, a gruff blacksmith.<|im_end|>\n"
    "<|im_start|>user\nTell me about the swords you forge.<|im_end|>\n<|im_start|>assistant\n"
)
GREEDY = Sampling(temperature=0.0, max_tokens=48)


def test_streaming_yields_pieces_that_make_the_text(engine: LlamaEngine) -> None:
    gen = engine.generate(PROMPT, GREEDY)
    pieces = list(gen)
    assert len(pieces) > 5
    assert "".join(pieces) == gen.text and gen.text.strip()
    assert gen.stats.completion_tokens > 5
    assert gen.stats.first_token_s is not None and gen.stats.first_token_s > 0
    assert gen.stats.finish_reason in ("length", "eos")


def test_a_stop_string_ends_the_reply_and_is_not_shown(engine: LlamaEngine) -> None:
    free = engine.generate(PROMPT, GREEDY)
    text = "".join(free)
    words = [w for w in text.split() if len(w) > 3]
    assert len(words) > 3, text
    stop = words[2]
    cut = engine.generate(PROMPT, GREEDY, stop=[stop])
    shown = "".join(cut)
    assert stop not in shown
    assert text.startswith(shown)
    assert cut.stats.finish_reason == "stop" and cut.stats.stopped_by == stop


def test_fixed_seed_reproduces_even_after_another_generation(engine: LlamaEngine) -> None:
    hot = Sampling(temperature=0.9, seed=1234, max_tokens=32)
    first = engine.generate(PROMPT, hot)
    list(first)
    list(engine.generate(PROMPT, Sampling(temperature=0.9, seed=99, max_tokens=32)))
    again = engine.generate(PROMPT, hot)
    list(again)
    assert first.text == again.text and first.text


def test_cancel_mid_reply(engine: LlamaEngine) -> None:
    gen = engine.generate(PROMPT, Sampling(temperature=0.7, seed=3, max_tokens=400))
    pieces = []
    for piece in gen:
        pieces.append(piece)
        if len(pieces) == 3:
            gen.cancel()
    assert gen.stats.finish_reason == "cancelled"
    assert gen.stats.completion_tokens < 20


def test_cancel_mid_prefill_returns_fast_and_leaves_the_engine_usable(
    engine: LlamaEngine, bundled_info  # type: ignore[no-untyped-def]
) -> None:
    long_prompt = "<|im_start|>user\n" + "The forge glows red. " * 700 + "<|im_end|>\n<|im_start|>assistant\n"
    assert engine.count_tokens(long_prompt) > 3500
    engine.reset_cache()
    cancel = threading.Event()
    started = time.perf_counter()
    gen = engine.generate(long_prompt, Sampling(temperature=0.0, max_tokens=8), cancel=cancel)
    threading.Timer(0.05, cancel.set).start()
    assert list(gen) == []
    elapsed = time.perf_counter() - started
    assert gen.stats.finish_reason == "cancelled"
    assert elapsed < 2.0  # a full prefill of this prompt takes several seconds here
    after = engine.generate(PROMPT, GREEDY)
    list(after)
    with load_engine(bundled_info, n_threads=2, n_ctx=4608) as fresh:
        reference = fresh.generate(PROMPT, GREEDY)
        list(reference)
    assert after.text == reference.text


def test_prefix_reuse_evaluates_only_the_new_tokens(engine: LlamaEngine) -> None:
    engine.reset_cache()
    first = engine.generate(PROMPT, GREEDY)
    list(first)
    longer = PROMPT + first.text + "<|im_end|>\n<|im_start|>user\nHow much?<|im_end|>\n<|im_start|>assistant\n"
    second = engine.generate(longer, GREEDY)
    list(second)
    new_tokens = engine.count_tokens(longer) - engine.count_tokens(PROMPT)
    assert second.stats.prompt_tokens == engine.count_tokens(longer)
    assert second.stats.evaluated_tokens <= new_tokens + 2
    assert second.stats.evaluated_tokens >= new_tokens - first.stats.completion_tokens - 2


def test_a_prompt_over_the_window_is_one_clear_error(engine: LlamaEngine) -> None:
    huge = "word " * 6000
    gen = engine.generate(huge, GREEDY)
    with pytest.raises(LoreweaverError, match=r"context window is 4608"):
        list(gen)
    ok = engine.generate(PROMPT, GREEDY)
    assert list(ok)


def test_bos_is_added_only_when_the_model_wants_it(engine: LlamaEngine) -> None:
    # SmolLM2 says add_bos_token = false: the prompt's tokens start with the text itself
    tokens = engine.tokenize("<|im_start|>user")
    assert len(tokens) == 2  # the special marker is one token, "user" another


def test_missing_and_corrupt_model_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(LoreweaverError, match="nowhere.gguf"):
        load_path(tmp_path / "nowhere.gguf")
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF\x03\x00\x00\x00" + b"\xff" * 40)
    with pytest.raises(LoreweaverError, match="bad.gguf"):
        load_path(bad)
