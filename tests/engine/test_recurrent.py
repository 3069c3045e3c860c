"""Recurrent and hybrid models on real (tiny, random-weight) Mamba and Jamba files a fixture
writes with the bundled tokenizer: detected from the metadata, never handed to the KV planner,
and reused through a per-prompt state snapshot so a regenerated reply or a new turn re-reads
only what follows the last prompt. Every reuse is checked against evaluating the same prompt
from scratch."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tinygguf import write_mamba

from app.engine.base import GenerationStats, Sampling
from app.engine.llamacpp import LlamaEngine, load_engine
from app.engine.recurrent import Snapshots
from app.home import Home
from app.memory.store import ChatStore
from app.models import ModelInfo, memory_kind, read_model_info
from app.prompts.formats import choose_format
from app.prompts.segments import Prompt
from app.session_start import start_session
from app.settings import Settings
from app.sheets import library

SEEDED = Sampling(temperature=0.9, top_k=50, top_p=0.95, min_p=0.0, max_tokens=6, seed=5)


@pytest.fixture(scope="module", params=["recurrent", "hybrid"])
def ssm_info(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    bundled_info: ModelInfo,
) -> ModelInfo:
    """A Mamba (recurrent), then a Jamba (hybrid: a Mamba layer and an attention layer)."""
    folder = tmp_path_factory.mktemp(request.param)
    hybrid = request.param == "hybrid"
    path = write_mamba(folder / "tiny.gguf", bundled_info.path, hybrid=hybrid)
    return read_model_info(path, "path")


@pytest.fixture(scope="module")
def ssm(ssm_info: ModelInfo) -> Iterator[LlamaEngine]:
    with load_engine(ssm_info, n_threads=2, n_ctx=1024) as loaded:
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
    ssm_info: ModelInfo, bundled_info: ModelInfo
) -> None:
    assert ssm_info.usable and ssm_info.architecture is not None
    assert ssm_info.memory == {"mamba": "recurrent", "jamba": "hybrid"}[ssm_info.architecture]
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
    assert memory_kind({"ssm.ssm.state_size": 16}, None) == "attention"


def test_the_engine_treats_a_recurrent_state_as_uncuttable(
    ssm: LlamaEngine, ssm_info: ModelInfo
) -> None:
    assert ssm.memory == ssm_info.memory != "attention"
    assert not ssm.can_shift


def test_regenerating_restores_the_prompts_snapshot_instead_of_re_reading(
    ssm: LlamaEngine,
) -> None:
    prompt = chat("Tell me about the mill.", "And the river?")
    expected = from_scratch(ssm, prompt)
    total = ssm.count_tokens(prompt)
    again, evaluated, stats = run(ssm, prompt)  # regenerate / swipe: the same prompt
    assert (stats.reused_tokens, stats.evaluated_tokens, evaluated) == (total - 1, 1, 1)
    assert stats.shifted_tokens == 0
    assert again == expected


def test_a_new_turn_after_a_reply_reads_only_what_follows_the_last_prompt(
    ssm: LlamaEngine,
) -> None:
    first = chat("Tell me about the mill.")
    reply = from_scratch(ssm, first)
    # The stored reply differs from the sampled tokens (edited here; trimmed or re-tokenized
    # in play): the live state has read those tokens and cannot be cut back to `first`, but
    # the snapshot taken at the end of `first` can be restored.
    follow = Prompt.markup(
        f"{first}(edited) {reply}<|im_end|>\n<|im_start|>user\nWhy?<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    total, head = ssm.count_tokens(follow), ssm.count_tokens(first)
    text, evaluated, stats = run(ssm, follow)
    assert stats.reused_tokens == head - 1
    assert evaluated == stats.evaluated_tokens == total - head + 1
    assert text == from_scratch(ssm, follow)


def test_a_changed_early_turn_is_re_read_never_cut_or_shifted(ssm: LlamaEngine) -> None:
    long = chat(*(f"Turn {i}: the mill wheel turns and the river runs on." for i in range(12)))
    run(ssm, long)
    changed = chat(
        *(f"Turn {i}: the mill wheel turns and the river runs on." for i in range(1, 13))
    )
    text, evaluated, stats = run(ssm, changed)  # an attention cache would shift a long run
    assert stats.shifted_tokens == 0 and stats.reused_tokens == 0
    assert evaluated == ssm.count_tokens(changed)
    assert text == from_scratch(ssm, changed)


def test_a_saved_state_file_reopens_a_recurrent_chat(
    ssm: LlamaEngine, ssm_info: ModelInfo, tmp_path: Path
) -> None:
    prompt = chat("Tell me about the mill.")
    ssm.reset_cache()
    run(ssm, prompt, Sampling(temperature=0.0, max_tokens=1))  # the state has read `prompt`
    state = tmp_path / "chat.lwkv"
    assert ssm.save_state_file(state) > 0
    grown = Prompt.markup(f"{prompt}Yes.<|im_end|>\n<|im_start|>user\nWhy?<|im_end|>\n")
    with load_engine(ssm_info, n_threads=2, n_ctx=1024) as reopened:
        restored = reopened.load_state_file(state, grown)
        assert restored == reopened.tokenize(prompt)
        _, evaluated, stats = run(reopened, grown)
        assert stats.reused_tokens == len(restored)
        assert stats.evaluated_tokens == reopened.count_tokens(grown) - len(restored)
        assert evaluated <= stats.evaluated_tokens  # (a fresh context's first counts lag)


def test_a_swipe_in_a_saved_chat_reads_only_the_end_of_the_prompt(
    ssm: LlamaEngine, ssm_info: ModelInfo, lw_home: Home
) -> None:
    store = ChatStore.open(lw_home.ensure())
    try:
        _, sheet = library.load(lw_home, "brenna")
        fmt = choose_format(None, ssm_info)
        session = start_session(ssm, ssm_info, fmt, sheet, "brenna", Settings(), store=store)
        session.send("How much for a dagger?", SEEDED).finish()
        swipe = session.regenerate(Sampling(temperature=0.9, max_tokens=6, seed=6))
        swipe.finish()
        stats = swipe.stats
        assert stats.prompt_tokens > 50
        assert (stats.reused_tokens, stats.evaluated_tokens) == (stats.prompt_tokens - 1, 1)
        assert session.swipe_position() == (2, 2)
    finally:
        store.close()


class _State:
    """Just enough of a `Llama` and of llama_cpp for `Snapshots`: a token list and a state of
    `size` bytes (the real thing is exercised on the tiny models above)."""

    def __init__(self, size: int) -> None:
        import numpy as np

        self.input_ids = np.zeros(64, dtype=np.intc)
        self.n_tokens = 0
        self.size = size
        self._ctx = self

    ctx = None

    def read(self, tokens: list[int]) -> None:
        self.input_ids[: len(tokens)] = tokens
        self.n_tokens = len(tokens)

    def llama_kv_self_update(self, _ctx: object) -> None:
        pass

    def llama_state_seq_get_size(self, _ctx: object, _seq: int) -> int:
        return self.size

    def llama_state_seq_get_data(self, _ctx: object, buf: object, size: int, _seq: int) -> int:
        return size


def test_snapshots_keep_the_newest_few_within_a_memory_budget() -> None:
    state = _State(100)
    snapshots = Snapshots(keep=2, max_bytes=250)
    for tokens in ([1, 2], [1, 2, 3], [7, 8, 9]):
        state.read(tokens)
        snapshots.take(state, state)
    assert len(snapshots) == 2  # the oldest, [1, 2], went
    assert snapshots.best([1, 2, 5]) is None
    best = snapshots.best([1, 2, 3, 4])
    assert best is not None and best.tokens == (1, 2, 3)
    assert snapshots.best([1, 2, 3]) is None  # sampling needs one token after the snapshot
    state.size = 200
    state.read([4, 5])
    snapshots.take(state, state)  # 200 + 100 bytes is over the budget: the older one goes
    assert len(snapshots) == 1 and snapshots.best([7, 8, 9, 1]) is None
    state.read([])
    snapshots.take(state, state)  # nothing read, nothing to keep
    assert len(snapshots) == 1
