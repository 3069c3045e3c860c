"""Independent generations side by side, at most N at a time, results in request order.

For a server that batches requests (llama-server with `-np N`, vLLM): branches of a scene or
bark variants need not wait for each other. Each request carries its own sampling (and seed),
and results come back in the order asked, so what is written from them does not depend on
which finished first.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from app.engine.base import Engine, GenerationStats, Sampling
from app.errors import LoreweaverError


@dataclass(frozen=True)
class Request:
    prompt: str
    sampling: Sampling
    stop: tuple[str, ...] = ()
    grammar: str | None = None
    """GBNF the reply must follow, as `Engine.generate` takes it."""


@dataclass(frozen=True)
class Result:
    text: str
    stats: GenerationStats = field(default_factory=GenerationStats)
    error: str | None = None
    """The one-line failure of this request (its partial text is kept); None when it ended."""


def generate_all(
    engine: Engine,
    requests: Sequence[Request],
    parallel: int,
    cancel: threading.Event | None = None,
) -> list[Result]:
    """Run every request, at most `parallel` at once; one result per request, in order.

    A request that fails keeps its partial text and its error line, and the others go on;
    `cancel` stops them all (each keeps what it had).
    """
    if parallel < 1:
        raise LoreweaverError(f"parallel must be at least 1 (got {parallel})")
    stop_all = cancel or threading.Event()

    def one(request: Request) -> Result:
        if stop_all.is_set():
            return Result("", error="cancelled before it started")
        try:
            generation = engine.generate(
                request.prompt,
                request.sampling,
                stop=request.stop,
                cancel=stop_all,
                grammar=request.grammar,
            )
        except LoreweaverError as exc:
            return Result("", error=str(exc))
        try:
            for _ in generation:
                pass
        except LoreweaverError as exc:
            return Result(generation.text, generation.stats, str(exc))
        return Result(generation.text, generation.stats)

    with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="parallel") as pool:
        return list(pool.map(one, requests))
