"""App streaming path vs a raw llama-cpp-python streaming loop, same prompt and settings.

Both load the same model file and run from a cold KV cache, interleaved (alternating which goes
first) so that machine noise hits both alike; figures are medians over the runs. The raw loop
runs on the engine's worker thread: driving llama.cpp from a second thread would slow both
sides (see `app.engine.llamacpp`), and a raw user would drive it from one thread too.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from app.bench import BenchOptions
from app.bench.common import median, peak_rss_mb
from app.engine import quiet
from app.engine.base import Sampling
from app.engine.llamacpp import LlamaEngine, load_engine
from app.models import ModelInfo
from app.prompts.formats import choose_format
from app.prompts.messages import Message

PERSONA = (
    "You are Brenna Ironhand, the blacksmith of Harrowford: a broad-shouldered woman in her "
    "forties with soot-dark forearms and a burn scar across her left palm. You are blunt, proud "
    "of your craft, quick to haggle and slow to trust. Your forge stands by the north gate where "
    "the road from the Ashen Pass comes down. "
)
USER_LINE = "Tell me the story of the finest sword you ever forged, in detail."


@dataclass(frozen=True)
class Run:
    first_token_s: float
    tokens_per_s: float
    tokens: int


@dataclass
class StreamingResult:
    model: str
    prompt_tokens: int
    completion_tokens: int
    raw_completion_tokens: int
    runs: int
    app_first_token_s: float
    raw_first_token_s: float
    first_token_ratio: float
    first_token_delta_ms: float
    """Median of paired (adjacent-run) differences: steadier than a difference of medians."""
    app_tokens_per_s: float
    raw_tokens_per_s: float
    tokens_per_s_ratio: float
    peak_rss_mb: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def render(self) -> Any:
        """A Rich table of the figures."""
        from rich.table import Table

        table = Table(
            title=f"Streaming: {self.model}, {self.prompt_tokens}-token prompt, "
            f"{self.completion_tokens} tokens, median of {self.runs}",
            title_justify="left",
            caption=f"peak RSS {self.peak_rss_mb:.0f} MB (both copies of the model loaded)",
            caption_justify="left",
        )
        for column in ("", "app", "raw llama-cpp-python", "app / raw"):
            table.add_column(column, justify="right")
        table.add_row(
            "first token (s)",
            f"{self.app_first_token_s:.3f}",
            f"{self.raw_first_token_s:.3f}",
            f"{self.first_token_ratio:.3f} ({self.first_token_delta_ms:+.0f} ms paired)",
        )
        table.add_row(
            "tokens/s",
            f"{self.app_tokens_per_s:.1f}",
            f"{self.raw_tokens_per_s:.1f}",
            f"{self.tokens_per_s_ratio:.3f}",
        )
        return table


def bench_prompt(info: ModelInfo, target_tokens: int = 500) -> str:
    """A role-play prompt of about `target_tokens`, in the model's own format."""
    persona = PERSONA * max(1, target_tokens // 75)
    messages = [Message("system", persona), Message("user", USER_LINE)]
    return choose_format(None, info).render(messages)


def _rate(tokens: int, seconds: float) -> float:
    return (tokens - 1) / seconds if seconds > 0 and tokens > 1 else 0.0


def _app_run(engine: LlamaEngine, prompt: str, sampling: Sampling) -> Run:
    engine.reset_cache()
    start = time.perf_counter()
    first: float | None = None
    generation = engine.generate(prompt, sampling)
    for _ in generation:
        if first is None:
            first = time.perf_counter() - start
    total = time.perf_counter() - start
    first = total if first is None else first
    tokens = generation.stats.completion_tokens
    return Run(first, _rate(tokens, total - first), tokens)


def _raw_run(llm: Any, tokens: list[int], sampling: Sampling) -> Run:
    """llama-cpp-python's documented streaming loop, every setting explicit (worker thread)."""
    llm.reset()
    llm._ctx.kv_cache_clear()
    start = time.perf_counter()
    first: float | None = None
    finish = None
    for chunk in llm.create_completion(
        tokens,
        max_tokens=sampling.max_tokens,
        temperature=sampling.temperature,
        top_p=sampling.top_p,
        top_k=sampling.top_k,
        min_p=sampling.min_p,
        typical_p=1.0,
        repeat_penalty=sampling.repeat_penalty,
        frequency_penalty=0.0,
        presence_penalty=0.0,
        tfs_z=1.0,
        mirostat_mode=0,
        seed=sampling.seed,
        stop=[],
        echo=False,
        stream=True,
    ):
        if first is None:
            first = time.perf_counter() - start
        finish = chunk["choices"][0]["finish_reason"]
    total = time.perf_counter() - start
    first = total if first is None else first
    # The cache holds the prompt and every reply token but the last (never evaluated); an
    # end-of-generation token is not part of the reply, as in the app's count.
    generated = llm.n_tokens - len(tokens) + (1 if finish == "length" else 0)
    return Run(first, _rate(generated, total - first), generated)


def _load_raw(info: ModelInfo, n_ctx: int, n_threads: int) -> Any:
    import llama_cpp

    with quiet.drop_this_threads_stderr():
        llm = llama_cpp.Llama(
            model_path=str(info.path),
            n_ctx=n_ctx,
            n_threads=n_threads,
            n_threads_batch=n_threads,
            n_batch=512,
            last_n_tokens_size=64,
            verbose=True,  # verbose=False would point fds 1/2 at /dev/null while loading
        )
    llm.verbose = False
    return llm


def run_streaming(
    info: ModelInfo, *, runs: int = 7, max_tokens: int = 200, n_threads: int | None = None
) -> StreamingResult:
    # Greedy on both sides: the same tokens for the same prompt, so the same work.
    sampling = Sampling(
        temperature=0.0,
        top_p=1.0,
        top_k=0,
        min_p=0.0,
        repeat_penalty=1.0,
        seed=1,
        max_tokens=max_tokens,
    )
    engine = load_engine(info, n_threads=n_threads, n_ctx_cap=4096)
    try:
        prompt = bench_prompt(info)
        tokens = engine.tokenize(prompt)
        raw = engine.call(lambda: _load_raw(info, engine.n_ctx, engine.threads.most))
        app_runs: list[Run] = []
        raw_runs: list[Run] = []
        try:
            for index in range(runs):
                sides = [
                    lambda: app_runs.append(_app_run(engine, prompt, sampling)),
                    lambda: raw_runs.append(engine.call(lambda: _raw_run(raw, tokens, sampling))),
                ]
                for side in sides if index % 2 == 0 else reversed(sides):
                    side()
        finally:
            engine.call(raw.close)
    finally:
        engine.close()
    app_first = median([r.first_token_s for r in app_runs])
    raw_first = median([r.first_token_s for r in raw_runs])
    app_rate = median([r.tokens_per_s for r in app_runs])
    raw_rate = median([r.tokens_per_s for r in raw_runs])
    paired = [a.first_token_s - r.first_token_s for a, r in zip(app_runs, raw_runs, strict=True)]
    return StreamingResult(
        model=info.id,
        prompt_tokens=len(tokens),
        completion_tokens=int(median([r.tokens for r in app_runs])),
        raw_completion_tokens=int(median([r.tokens for r in raw_runs])),
        runs=runs,
        app_first_token_s=round(app_first, 4),
        raw_first_token_s=round(raw_first, 4),
        first_token_ratio=round(app_first / raw_first, 3) if raw_first else 0.0,
        first_token_delta_ms=round(median(paired) * 1000, 1),
        app_tokens_per_s=round(app_rate, 2),
        raw_tokens_per_s=round(raw_rate, 2),
        tokens_per_s_ratio=round(app_rate / raw_rate, 3) if raw_rate else 0.0,
        peak_rss_mb=round(peak_rss_mb(), 1),
    )


def run(info: ModelInfo, options: BenchOptions) -> StreamingResult:
    """Entry point for `loreweaver bench` (see `app.bench.BENCHES`)."""
    return run_streaming(
        info, runs=options.runs, max_tokens=options.max_tokens, n_threads=options.n_threads
    )
