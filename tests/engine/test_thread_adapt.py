"""Adaptive decode threads on the real engine: the tuner's count reaches the live context
between tokens, and the thread count never changes what the model says."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator

import llama_cpp

from app.engine.base import Sampling
from app.engine.llamacpp import LlamaEngine, load_engine
from app.engine.thread_tuner import ThreadTuner
from app.models import ModelInfo
from app.prompts.segments import Prompt

PROMPT = Prompt.markup(
    "<|im_start|>system\nYou are Kestrel, a wary ranger.<|im_end|>\n"
    "<|im_start|>user\nWhat did you see on the north road?<|im_end|>\n<|im_start|>assistant\n"
)


class ScriptedTuner(ThreadTuner):
    """Returns counts from a script instead of judging times, and notes the counts the live
    context held at each step (it runs on the engine's worker, between tokens)."""

    def __init__(self, engine: LlamaEngine, script: Iterator[int], first: int = 2) -> None:
        super().__init__(engine.threads.most)
        self.engine = engine
        self.script = script
        self.first = first
        self.asked: list[int] = []
        self.seen: list[int] = []
        self.seen_batch: list[int] = []

    def start(self, pause: float = 0.0) -> int:
        """The count the prompt is read with (and the first token decoded)."""
        return self.first

    def step(self, seconds: float) -> int:
        assert seconds > 0
        llm = self.engine._llm
        ctx = llm._ctx.ctx
        self.seen.append(int(llama_cpp.llama_n_threads(ctx)))
        self.seen_batch.append(int(llama_cpp.llama_n_threads_batch(ctx)))
        self.asked.append(next(self.script))
        return self.asked[-1]


def _reply(engine: LlamaEngine, tuner: ThreadTuner | None, sampling: Sampling) -> list[int]:
    """The reply's tokens, from a cold cache, with `tuner` deciding the decode threads."""
    kept = engine.threads.tuner
    engine.threads.tuner = tuner
    try:
        engine.reset_cache()
        prompt_tokens = engine.count_tokens(PROMPT)
        generation = engine.generate(PROMPT, sampling)
        list(generation)
        assert generation.stats.completion_tokens > 8
        return engine.cached_tokens()[prompt_tokens:]
    finally:
        engine.threads.tuner = kept


def test_decode_threads_change_on_the_live_context_and_never_change_the_reply(
    engine: LlamaEngine,
) -> None:
    assert engine.threads.most == 2
    greedy = Sampling(temperature=0.0, max_tokens=12)
    two = _reply(engine, ScriptedTuner(engine, itertools.repeat(2)), greedy)
    alone = ScriptedTuner(engine, itertools.repeat(1), first=1)
    one = _reply(engine, alone, greedy)
    assert set(alone.seen) == set(alone.seen_batch) == {1}
    switching = ScriptedTuner(engine, itertools.cycle([1, 2, 2, 1]))
    mixed = _reply(engine, switching, greedy)
    assert two == one == mixed
    # each step ran at the count asked for after the step before it (the first at 2: start);
    # the prompt of `one` was read on 1 thread, the others' on 2
    assert switching.seen == [2, *switching.asked[:-1]]
    assert set(switching.seen) == {1, 2}
    assert switching.seen_batch == switching.seen  # prompts read with as many fewer (2/2)
    engine.call(lambda: engine.threads.use(engine.threads.most))  # as the other tests expect
    assert engine.call(lambda: llama_cpp.llama_n_threads(engine._llm._ctx.ctx)) == 2


def test_the_load_sampler_lives_with_an_adaptive_engine(bundled_info: ModelInfo) -> None:
    def samplers() -> int:
        return sum(t.name == "cpu-load" and t.is_alive() for t in threading.enumerate())

    before = samplers()
    with load_engine(bundled_info, n_threads=2, thread_adapt=True, n_ctx_cap=512) as engine:
        assert samplers() == before + 1
        assert engine.threads.tuner is not None and engine.threads.tuner.start() in (1, 2)
    assert samplers() == before  # stopped with the engine
    with load_engine(bundled_info, n_threads=1, thread_adapt=True, n_ctx_cap=512):
        assert samplers() == before  # one thread: nothing to adapt, nothing sampled
