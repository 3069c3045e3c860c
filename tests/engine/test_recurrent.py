"""Recurrent models on a real (tiny, random-weight) Mamba file a fixture writes with the bundled
tokenizer: detected from the metadata, never handed to the KV planner, and reused through a
per-prompt state snapshot so a regenerated reply or a new turn re-reads only what follows the
last prompt. Every reuse is checked against evaluating the same prompt from scratch."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tinygguf import write_mamba

from app.engine.base import GenerationStats, Sampling
from app.engine.llamacpp import LlamaEngine, load_engine
from app.engine.modelinfo import ModelInfo, memory_kind
from app.engine.registry import read_model_info
from app.home import Home
from app.memory.store import ChatStore
from app.prompts.formats import choose_format
from app.prompts.segments import Prompt
from app.session_start import start_session
from app.settings import Settings
from app.sheets import library

SEEDED = Sampling(temperature=0.9, top_k=50, top_p=0.95, min_p=0.0, max_tokens=6, seed=5)


@pytest.fixture(scope="module")
def mamba_info(tmp_path_factory: pytest.TempPathFactory, bundled_info) -> ModelInfo:  # type: ignore[no-untyped-def]
    path = write_mamba(tmp_path_factory.mktemp("mamba") / "tiny-mamba.gguf", bundled_info.path)
    return read_model_info(path, "path")


@pytest.fixture(scope="module")
def mamba(mamba_info: ModelInfo) -> Iterator[LlamaEngine]:
    with load_engine(mamba_info, n_threads=2, n_ctx=1024) as loaded:
        yield loaded


def chat(*turns: str) -> Prompt:
    lines = "".join(f"<|im_start|>user\n{t}<|im_end|>\n" for t in turns)
    return Prompt.markup(
        f"<|im_start|>system\nYou are Hobb.<|im_end|>\n{lines}<|im_start|>assistant\n"
    )


def run(
    engine: LlamaEngine, prompt: str, sampling: Sampling = SEEDED
) -> tuple[str, int, GenerationStats]:
    """The reply, the prompt tokens llama.cpp really evaluated, and the engine's stats."""
    before = engine.decoded_tokens()
    generation = engine.generate(prompt, sampling)
    text = "".join(generation)
    stats = generation.stats
    return text, engine.decoded_tokens() - before - max(stats.completion_tokens - 1, 0), stats


def from_scratch(engine: LlamaEngine, prompt: str) -> str:
    engine.reset_cache()
    return run(engine, prompt)[0]


def test_recurrent_and_hybrid_models_are_told_from_their_metadata(
    mamba_info: ModelInfo, bundled_info: ModelInfo
) -> None:
    assert mamba_info.memory == "recurrent" and mamba_info.usable
    assert bundled_info.memory == "attention"
    rwkv = {"rwkv6.wkv.head_size": 64, "rwkv6.attention.head_count": 0}
    assert memory_kind(rwkv, "rwkv6") == "recurrent"
    jamba = {"jamba.ssm.state_size": 16, "jamba.attention.head_count_kv": [0, 0, 8, 0]}
    assert memory_kind(jamba, "jamba") == "hybrid"
    lfm2 = {"lfm2.shortconv.l_cache": 3, "lfm2.attention.head_count_kv": [0, 8, 0, 8]}
    assert memory_kind(lfm2, "lfm2") == "hybrid"
    falcon = {"falcon-h1.ssm.state_size": 16, "falcon-h1.attention.head_count": 8}
    assert memory_kind(falcon, "falcon-h1") == "hybrid"
    assert memory_kind({"llama.attention.head_count": 9}, "llama") == "attention"
    assert memory_kind({"mamba.ssm.state_size": 16}, None) == "attention"


def test_the_engine_treats_a_recurrent_state_as_uncuttable(mamba: LlamaEngine) -> None:
    assert mamba.memory == "recurrent"
    assert not mamba.can_shift


def test_regenerating_restores_the_prompts_snapshot_instead_of_re_reading(
    mamba: LlamaEngine,
) -> None:
    prompt = chat("Tell me about the mill.", "And the river?")
    expected = from_scratch(mamba, prompt)
    total = mamba.count_tokens(prompt)
    again, evaluated, stats = run(mamba, prompt)  # regenerate / swipe: the same prompt
    assert (stats.reused_tokens, stats.evaluated_tokens, evaluated) == (total - 1, 1, 1)
    assert stats.shifted_tokens == 0
    assert again == expected


def test_a_new_turn_after_a_reply_reads_only_what_follows_the_last_prompt(
    mamba: LlamaEngine,
) -> None:
    first = chat("Tell me about the mill.")
    reply = from_scratch(mamba, first)
    # The stored reply differs from the sampled tokens (edited here; trimmed or re-tokenized
    # in play): the live state has read those tokens and cannot be cut back to `first`, but
    # the snapshot taken at the end of `first` can be restored.
    follow = Prompt.markup(
        f"{first}(edited) {reply}<|im_end|>\n<|im_start|>user\nWhy?<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    total, head = mamba.count_tokens(follow), mamba.count_tokens(first)
    text, evaluated, stats = run(mamba, follow)
    assert stats.reused_tokens == head - 1
    assert evaluated == stats.evaluated_tokens == total - head + 1
    assert text == from_scratch(mamba, follow)


def test_a_changed_early_turn_is_re_read_never_cut_or_shifted(mamba: LlamaEngine) -> None:
    long = chat(*(f"Turn {i}: the mill wheel turns and the river runs on." for i in range(12)))
    run(mamba, long)
    changed = chat(
        *(f"Turn {i}: the mill wheel turns and the river runs on." for i in range(1, 13))
    )
    text, evaluated, stats = run(mamba, changed)  # an attention cache would shift a long run
    assert stats.shifted_tokens == 0 and stats.reused_tokens == 0
    assert evaluated == mamba.count_tokens(changed)
    assert text == from_scratch(mamba, changed)


def test_a_saved_state_file_reopens_a_recurrent_chat(
    mamba: LlamaEngine, mamba_info: ModelInfo, tmp_path: Path
) -> None:
    prompt = chat("Tell me about the mill.")
    mamba.reset_cache()
    run(mamba, prompt, Sampling(temperature=0.0, max_tokens=1))  # the state has read `prompt`
    state = tmp_path / "chat.lwkv"
    assert mamba.save_state_file(state) > 0
    grown = Prompt.markup(f"{prompt}Yes.<|im_end|>\n<|im_start|>user\nWhy?<|im_end|>\n")
    with load_engine(mamba_info, n_threads=2, n_ctx=1024) as reopened:
        restored = reopened.load_state_file(state, grown)
        assert restored == reopened.tokenize(prompt)
        _, evaluated, stats = run(reopened, grown)
        assert stats.reused_tokens == len(restored)
        assert stats.evaluated_tokens == reopened.count_tokens(grown) - len(restored)
        assert evaluated <= stats.evaluated_tokens  # (a fresh context's first counts lag)


def test_a_swipe_in_a_saved_chat_reads_only_the_end_of_the_prompt(
    mamba: LlamaEngine, mamba_info: ModelInfo, lw_home: Home
) -> None:
    store = ChatStore.open(lw_home.ensure())
    try:
        _, sheet = library.load(lw_home, "brenna")
        fmt = choose_format(None, mamba_info)
        session = start_session(mamba, mamba_info, fmt, sheet, "brenna", Settings(), store=store)
        session.send("How much for a dagger?", SEEDED).finish()
        swipe = session.regenerate(Sampling(temperature=0.9, max_tokens=6, seed=6))
        swipe.finish()
        stats = swipe.stats
        assert stats.prompt_tokens > 50
        assert (stats.reused_tokens, stats.evaluated_tokens) == (stats.prompt_tokens - 1, 1)
        assert session.swipe_position() == (2, 2)
    finally:
        store.close()
