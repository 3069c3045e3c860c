"""App streaming path vs a raw llama-cpp-python streaming loop, same prompt and settings.

Both run on the same loaded model file, each from a cold KV cache, interleaved so that
machine noise hits both alike; the figures are medians over the runs.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from app.bench.common import median, peak_rss_mb
from app.engine.base import Sampling
from app.engine.llamacpp import LlamaEngine, load_engine
from app.engine.modelinfo import ModelInfo
from app.prompts.formats import choose_format
from app.prompts.messages import Message

PERSONA = (
    "You are Brenna Ironhand, the blacksmith of Harrowford: a broad-shouldered woman in her "
    "forties with soot-dark forearms and a burn scar across her left palm. You are blunt, proud "
    "of your craft, quick to haggle and slow to trust. Your forge stands by the north gate where "
    "the road from the Ashen Pass comes down. "
)


@dataclass
class StreamingResult:
    model: str
    prompt_tokens: int
    completion_tokens: int
    runs: int
    app_first_token_s: float
    raw_first_token_s: float
    app_tokens_per_s: float
    raw_tokens_per_s: float
    tokens_per_s_ratio: float
    first_token_delta_ms: float
    peak_rss_mb: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def bench_prompt(info: ModelInfo, target_tokens: int = 500) -> str:
    """A role-play prompt of about `target_tokens`, in the model's own format."""
    persona = PERSONA * max(1, target_tokens // 75)
    messages = [
        Message("system", persona),
        Message("user", "Tell me the story of the finest sword you ever forged, in detail."),
    ]
    return choose_format(None, info).render(messages)


def _app_run(engine: LlamaEngine, prompt: str, sampling: Sampling) -> tuple[float, float, int]:
    engine.reset_cache()
    start = time.perf_counter()
    first = None
    generation = engine.generate(prompt, sampling)
    for _ in generation:
        if first is None:
            first = time.perf_counter() - start
    total = time.perf_counter() - start
    stats = generation.stats
    return first or total, _rate(stats.completion_tokens, total - (first or total)), stats.completion_tokens


def _raw_run(llm: Any, prompt: str, sampling: Sampling) -> tuple[float, float, int]:
    llm.reset()
    llm._ctx.kv_cache_clear()
    start = time.perf_counter()
    first = None
    count = 0
    for _chunk in llm.create_completion(
        prompt,
        max_tokens=sampling.max_tokens,
        temperature=sampling.temperature,
        top_p=sampling.top_p,
        top_k=sampling.top_k,
        min_p=sampling.min_p,
        repeat_penalty=sampling.repeat_penalty,
        seed=sampling.seed,
        stream=True,
    ):
        count += 1
        if first is None:
            first = time.perf_counter() - start
    total = time.perf_counter() - start
    return first or total, _rate(count, total - (first or total)), count


def _rate(tokens: int, seconds: float) -> float:
    return (tokens - 1) / seconds if seconds > 0 and tokens > 1 else 0.0


def run_streaming(
    info: ModelInfo, *, runs: int = 7, max_tokens: int = 200, n_threads: int | None = None
) -> StreamingResult:
    import llama_cpp

    # Greedy, with EOS ignored by neither side: both produce the same tokens for the same count.
    sampling = Sampling(temperature=0.0, top_p=1.0, top_k=0, min_p=0.0, repeat_penalty=1.0,
                        seed=1, max_tokens=max_tokens)
    engine = load_engine(info, n_threads=n_threads, n_ctx_cap=4096)
    try:
        prompt = bench_prompt(info)
        tokens = engine.count_tokens(prompt)
        raw = llama_cpp.Llama(
            model_path=str(info.path),
            n_ctx=engine.n_ctx,
            n_threads=engine._n_threads,
            n_threads_batch=engine._n_threads,
            n_batch=512,
            verbose=False,
        )
        app_runs, raw_runs = [], []
        for index in range(runs):
            # alternate which side goes first, so drift in machine load hits both alike
            if index % 2:
                raw_runs.append(_raw_run(raw, prompt, sampling))
                app_runs.append(_app_run(engine, prompt, sampling))
            else:
                app_runs.append(_app_run(engine, prompt, sampling))
                raw_runs.append(_raw_run(raw, prompt, sampling))
        del raw
    finally:
        engine.close()
    app_first = median([r[0] for r in app_runs])
    raw_first = median([r[0] for r in raw_runs])
    app_rate = median([r[1] for r in app_runs])
    raw_rate = median([r[1] for r in raw_runs])
    return StreamingResult(
        model=info.id,
        prompt_tokens=tokens,
        completion_tokens=int(median([r[2] for r in app_runs])),
        runs=runs,
        app_first_token_s=round(app_first, 4),
        raw_first_token_s=round(raw_first, 4),
        app_tokens_per_s=round(app_rate, 2),
        raw_tokens_per_s=round(raw_rate, 2),
        tokens_per_s_ratio=round(app_rate / raw_rate, 3) if raw_rate else 0.0,
        # paired differences of adjacent runs cancel the machine's slow drift in speed
        first_token_delta_ms=round(
            median([a[0] - r[0] for a, r in zip(app_runs, raw_runs, strict=True)]) * 1000, 1
        ),
        peak_rss_mb=round(peak_rss_mb(), 1),
    )
