"""The llama.cpp engine on the real bundled model: streaming, stops, cancel, seeds, KV reuse,
load errors and a quiet terminal."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import threading
import time
from collections.abc import Generator
from pathlib import Path

import pytest
from support import REPO

from app.engine.base import Sampling
from app.engine.llamacpp import LlamaEngine, load_engine, load_path
from app.errors import LoreweaverError
from app.models import ModelInfo
from app.prompts.segments import Prompt

PROMPT = Prompt.markup(
    "<|im_start|>system\nYou are Brenna, a gruff blacksmith.<|im_end|>\n"
    "<|im_start|>user\nTell me about the swords you forge.<|im_end|>\n<|im_start|>assistant\n"
)
GREEDY = Sampling(temperature=0.0, max_tokens=48)
BATCH = 512  # the engine's n_batch (app/engine/llama_open.py)


def common_prefix(a: list[int], b: list[int]) -> int:
    return len(os.path.commonprefix([a, b]))


def test_streaming_yields_pieces_that_make_the_text(engine: LlamaEngine) -> None:
    gen = engine.generate(PROMPT, GREEDY)
    pieces = list(gen)
    assert len(pieces) > 5
    assert "".join(pieces) == gen.text and gen.text.strip()
    stats = gen.stats
    assert stats.prompt_tokens == engine.count_tokens(PROMPT)
    assert 5 < stats.completion_tokens <= GREEDY.max_tokens
    assert stats.first_token_s is not None and 0 < stats.first_token_s <= stats.total_s
    assert stats.finish_reason in ("length", "eos")
    assert (stats.finish_reason == "length") == (stats.completion_tokens == GREEDY.max_tokens)


def test_batches_read_the_same_reply_per_frame(engine: LlamaEngine) -> None:
    # Both replies evaluate the whole prompt: one decoded token after a reused prefix can sample
    # otherwise than the same token in a batch (llama.cpp's kernels differ), whatever is read.
    engine.reset_cache()
    whole = engine.generate(PROMPT, GREEDY)
    expected = "".join(whole)
    engine.reset_cache()
    gen = engine.generate(PROMPT, GREEDY)
    batches = list(gen.batches(0.05))
    assert "".join(batches) == gen.text == expected
    assert len(batches) < gen.stats.completion_tokens  # several tokens per read


def test_a_stop_string_ends_the_reply_and_is_not_shown(engine: LlamaEngine) -> None:
    free = engine.generate(PROMPT, GREEDY)
    text = "".join(free)
    words = [w for w in text.split() if len(w) > 3]
    assert len(words) > 3, text
    stop = words[2]
    cut = engine.generate(PROMPT, GREEDY, stop=[stop])
    shown = "".join(cut)
    assert stop not in shown
    assert shown == text[: text.index(stop)]
    assert cut.stats.finish_reason == "stop" and cut.stats.stopped_by == stop
    assert cut.stats.completion_tokens < free.stats.completion_tokens


def test_fixed_seed_reproduces_even_after_another_generation(engine: LlamaEngine) -> None:
    warm = Sampling(temperature=0.8, seed=1234, max_tokens=32)
    first = engine.generate(PROMPT, warm)
    list(first)
    list(engine.generate(PROMPT, dataclasses.replace(warm, seed=99)))
    again = engine.generate(PROMPT, warm)
    list(again)
    assert first.text == again.text and first.text


def test_temperature_zero_is_greedy_whatever_the_seed(engine: LlamaEngine) -> None:
    replies = []
    for seed in (1, 2):
        gen = engine.generate(PROMPT, Sampling(temperature=0.0, seed=seed, max_tokens=16))
        list(gen)
        replies.append(gen.text)
    assert replies[0] == replies[1] and replies[0]


def test_cancel_mid_reply(engine: LlamaEngine) -> None:
    gen = engine.generate(PROMPT, Sampling(temperature=0.7, seed=3, max_tokens=400))
    pieces = []
    for piece in gen:
        pieces.append(piece)
        if len(pieces) == 3:
            gen.cancel()
    assert gen.stats.finish_reason == "cancelled"
    assert gen.stats.completion_tokens < 10
    assert gen.text == "".join(pieces)


def _forge_prompt(repeats: int) -> Prompt:
    return Prompt.markup(
        PROMPT.split("<|im_start|>user")[0]
        + "<|im_start|>user\n"
        + "The forge glows red. " * repeats
        + "<|im_end|>\n<|im_start|>assistant\n"
    )


def _reply(engine: LlamaEngine, prompt: str) -> tuple[str, int]:
    gen = engine.generate(prompt, dataclasses.replace(GREEDY, max_tokens=24))
    list(gen)
    return gen.text, gen.stats.evaluated_tokens


def test_cancel_mid_prefill_returns_fast_and_leaves_the_engine_usable(
    engine: LlamaEngine, bundled_info: ModelInfo
) -> None:
    long_prompt = _forge_prompt(700)
    long_tokens = engine.tokenize(long_prompt)
    assert len(long_tokens) > 4000
    engine.reset_cache()
    cancel = threading.Event()
    gen = engine.generate(long_prompt, Sampling(temperature=0.0, max_tokens=8), cancel=cancel)
    progress = gen.prompt_progress(0.0)
    evaluated, _ = next(progress)  # the prefill has begun: its first batch is under way
    cancel.set()  # the abort callback stops that batch midway
    assert isinstance(progress, Generator)
    progress.close()
    assert list(gen) == []
    assert gen.stats.finish_reason == "cancelled" and gen.stats.completion_tokens == 0
    cached = engine.cached_tokens()
    assert cached == long_tokens[: len(cached)]
    # counted in tokens, not seconds: stopped within the batch under way, not at the end of the
    # prompt's 8+ batches
    assert len(cached) <= evaluated + BATCH < len(long_tokens)
    after, evaluated = _reply(engine, PROMPT)
    prompt_tokens = engine.tokenize(PROMPT)
    assert evaluated == len(prompt_tokens) - common_prefix(cached, prompt_tokens[:-1])

    # Abort in the second 512-token batch: the first stays cached and must be reused, and the
    # aborted batch must leave nothing behind in the KV cache that a later prompt would see.
    engine.reset_cache()
    cancel = threading.Event()
    gen = engine.generate(
        _forge_prompt(150), Sampling(temperature=0.0, max_tokens=8), cancel=cancel
    )
    llm = engine._llm  # read-only peek at progress from this thread, to cancel at a known point
    while llm.n_tokens < 512:
        time.sleep(0.001)
    cancel.set()
    assert list(gen) == [] and gen.stats.finish_reason == "cancelled"
    assert engine.cached_tokens() == engine.tokenize(_forge_prompt(150))[:512]
    shorter = _forge_prompt(120)
    shorter_tokens = engine.tokenize(shorter)
    assert len(shorter_tokens) > 512 and shorter_tokens[:512] == long_tokens[:512]
    resumed, evaluated = _reply(engine, shorter)
    assert evaluated == len(shorter_tokens) - 512

    with load_engine(bundled_info, n_threads=2, n_ctx=4608) as fresh:
        assert _reply(fresh, PROMPT)[0] == after
        assert _reply(fresh, shorter)[0] == resumed


def test_prefix_reuse_evaluates_only_the_new_tokens(engine: LlamaEngine) -> None:
    engine.reset_cache()
    first = engine.generate(PROMPT, GREEDY)
    list(first)
    assert first.stats.evaluated_tokens == first.stats.prompt_tokens
    cached = engine.cached_tokens()
    longer = (
        PROMPT
        + first.text
        + Prompt.markup(
            "<|im_end|>\n<|im_start|>user\nHow much for a dagger?<|im_end|>\n"
            "<|im_start|>assistant\n"
        )
    )
    longer_tokens = engine.tokenize(longer)
    second = engine.generate(longer, GREEDY)
    list(second)
    reused = common_prefix(cached, longer_tokens[:-1])
    assert reused >= first.stats.prompt_tokens  # the whole first prompt came from the cache
    assert second.stats.prompt_tokens == len(longer_tokens)
    assert second.stats.evaluated_tokens == len(longer_tokens) - reused
    assert second.stats.evaluated_tokens < len(longer_tokens) - first.stats.prompt_tokens + 2


def test_a_prompt_over_the_window_is_one_clear_error(engine: LlamaEngine) -> None:
    huge = "word " * 6000
    n = engine.count_tokens(huge)
    gen = engine.generate(huge, GREEDY)
    with pytest.raises(LoreweaverError) as caught:
        list(gen)
    assert str(caught.value) == f"prompt is {n} tokens; the context window is 4608"

    almost = "word " * (4608 - 20)
    n = engine.count_tokens(almost)
    assert n < 4608
    with pytest.raises(
        LoreweaverError,
        match=f"^prompt is {n} tokens; the context window is "
        r"4608, which leaves no room for a 48-token reply$",
    ):
        list(engine.generate(almost, GREEDY))
    ok = engine.generate(PROMPT, GREEDY)
    assert list(ok)


def test_bad_sampling_is_refused(engine: LlamaEngine) -> None:
    with pytest.raises(LoreweaverError, match="temperature"):
        engine.generate(PROMPT, Sampling(temperature=-1.0))
    with pytest.raises(LoreweaverError, match="max_tokens"):
        engine.generate(PROMPT, Sampling(max_tokens=0))


def test_bos_is_added_only_when_the_model_wants_it(engine: LlamaEngine) -> None:
    # SmolLM2 says add_bos_token = false: the tokens are the text's own, specials parsed
    tokens = engine.tokenize(Prompt.markup("<|im_start|>user"))
    assert len(tokens) == 2  # the special marker is one token, "user" another
    assert engine.tokenize("user") == tokens[1:]
    # the same characters as plain text are text: no control token
    assert tokens[0] not in engine.tokenize("<|im_start|>user")


def test_state_can_be_saved_and_restored(engine: LlamaEngine) -> None:
    list(engine.generate(PROMPT, GREEDY))
    cached = engine.cached_tokens()
    state = engine.save_state()
    engine.reset_cache()
    assert engine.cached_tokens() == []
    engine.load_state(state)
    assert engine.cached_tokens() == cached
    again = engine.generate(PROMPT, GREEDY)
    list(again)
    assert again.stats.evaluated_tokens == 1  # everything but the last prompt token was restored


def test_close_stops_a_running_generation(bundled_info: ModelInfo) -> None:
    own = load_engine(bundled_info, n_threads=2, n_ctx=2048)
    gen = own.generate(PROMPT, Sampling(temperature=0.7, seed=5, max_tokens=1500))
    pieces = iter(gen)
    next(pieces)
    own.close()
    list(pieces)
    assert gen.stats.finish_reason == "cancelled"
    # counted in tokens, not seconds: close stopped it at once, not after its 1500 tokens
    assert gen.stats.completion_tokens < 150
    with pytest.raises(LoreweaverError, match="unloaded"):
        own.generate(PROMPT, GREEDY)


def test_missing_and_corrupt_model_files_are_clear_errors(
    tmp_path: Path, bundled_info: ModelInfo
) -> None:
    with pytest.raises(LoreweaverError, match="nowhere.gguf"):
        load_path(tmp_path / "nowhere.gguf")
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF\x03\x00\x00\x00" + b"\xff" * 40)
    with pytest.raises(LoreweaverError, match="bad.gguf"):
        load_path(bad)
    with pytest.raises(LoreweaverError, match="gone.gguf: model file not found"):
        LlamaEngine(
            dataclasses.replace(bundled_info, path=tmp_path / "gone.gguf"), n_ctx=512, n_threads=1
        )


def test_a_file_llama_cpp_rejects_is_one_line_naming_it(
    tmp_path: Path, bundled_info: ModelInfo
) -> None:
    # The header reads fine and has every key the pre-load check asks for (renamed with the
    # architecture), so only llama.cpp itself finds the problem: an unknown architecture.
    data = bytearray(bundled_info.path.read_bytes())
    key = b"general.architecture"
    at = data.index(key) + len(key) + 12  # type (u32) and length (u64) precede the value
    assert data[at : at + 5] == b"llama"
    data[at : at + 5] = b"qwert"
    keys_end = data.index(b"token_embd.weight")  # the tensor list follows the metadata
    assert data[:keys_end].count(b"llama.") > 0
    data[:keys_end] = data[:keys_end].replace(b"llama.", b"qwert.")
    odd = tmp_path / "odd.gguf"
    odd.write_bytes(data)
    threads_before = threading.active_count()
    with pytest.raises(LoreweaverError) as caught:
        load_path(odd, n_ctx=512)
    message = str(caught.value)
    assert message.startswith(f"{odd}: cannot load the model: ")
    assert "qwert" in message and "\n" not in message
    assert threading.active_count() == threads_before  # the worker thread did not linger


def test_loading_leaves_the_terminal_alone(bundled_info: ModelInfo) -> None:
    """Nothing points fds 1/2 elsewhere while loading, and llama.cpp prints nothing."""
    probe = Path(__file__).with_name("stderr_probe.py")
    result = subprocess.run(
        [sys.executable, str(probe), str(bundled_info.path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    written, during_load = map(int, result.stdout.split())
    assert during_load > 0  # the writer really ran while Llama() was being built
    lines = result.stderr.splitlines()
    assert lines.count("fd-mark") == written
    assert lines.count("py-mark") == written
    assert set(lines) == {"fd-mark", "py-mark"}  # no llama.cpp or llama-cpp-python output
