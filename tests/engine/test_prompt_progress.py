"""Progress through a long prompt evaluation, on the real bundled model: what the screen shows
instead of a bare wait (issue 13)."""

from __future__ import annotations

import threading

from app.engine.base import Sampling
from app.engine.generation import QueuedGeneration
from app.engine.llamacpp import LlamaEngine

GREEDY = Sampling(temperature=0.0, max_tokens=8)


def _prompt(turns: int) -> str:
    lines = "".join(
        f"<|im_start|>user\nTurn {n}: how is the blade for the captain coming along?<|im_end|>\n"
        f"<|im_start|>assistant\nSlowly. Folded {n} times, quenched at dawn.<|im_end|>\n"
        for n in range(turns)
    )
    return (
        f"<|im_start|>system\nYou are Brenna, a blacksmith.<|im_end|>\n{lines}"
        "<|im_start|>assistant\n"
    )


def test_a_long_prompt_reports_increasing_counts_ending_at_the_total(
    engine: LlamaEngine,
) -> None:
    prompt = _prompt(27)
    tokens = len(engine.tokenize(prompt))
    assert tokens > 2 * 512  # several batches
    engine.reset_cache()
    gen = engine.generate(prompt, GREEDY)
    seen = list(gen.prompt_progress(0.0))
    text = "".join(gen)
    total = gen.stats.prompt_tokens - gen.stats.reused_tokens
    assert total == tokens == gen.stats.evaluated_tokens
    assert seen[-1] == (total, total) and gen.progress == (total, total)
    assert all(t == total for _, t in seen)
    done = [d for d, _ in seen]
    assert done == sorted(set(done)), done  # strictly increasing
    assert len([d for d in done if 0 < d < total]) >= 2, seen  # it advanced between the ends
    assert text and gen.stats.completion_tokens > 0

    again = engine.generate(prompt, GREEDY)  # all but the last token comes from the cache
    assert list(again.prompt_progress(0.0))[-1] == (1, 1)
    assert "".join(again) == text  # the reply is the same whichever way the prompt was read


def test_cancelling_during_the_evaluation_ends_the_progress(engine: LlamaEngine) -> None:
    engine.reset_cache()
    cancel = threading.Event()
    gen = engine.generate(_prompt(27), GREEDY, cancel=cancel)
    seen = []
    for done, _total in gen.prompt_progress(0.0):
        seen.append(done)
        if done > 0:
            cancel.set()
    assert list(gen) == [] and gen.stats.finish_reason == "cancelled"
    assert 0 < seen[-1] < gen.progress[1]


def test_progress_read_at_a_slow_pace_keeps_the_latest_count() -> None:
    """A reader reading once a period sees the newest figure, never a stale queue of them."""
    gen = QueuedGeneration(None)
    for done in range(0, 1001, 100):
        gen._set_progress(done, 1000)
    assert list(gen.prompt_progress(0.0)) == [(1000, 1000)]
    failed = QueuedGeneration(None)
    failed._set_progress(0, 50)
    failed._finish(RuntimeError("x"))
    assert list(failed.prompt_progress(0.0)) == [(0, 50)]
