"""Benchmarks behind `loreweaver bench`: each compares the app with a baseline measured in the
same run (raw llama-cpp-python, a no-cache replay, …) and reports ratios.

A benchmark is a module (here, by convention) with `run(info, options) -> report`, listed in
`BENCHES`; the CLI turns each entry's flag into an option, so a new benchmark (`--long-chat`,
`--tui`) needs no other change. Modules are imported only when chosen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class BenchOptions:
    runs: int
    max_tokens: int
    n_threads: int | None = None
    turns: int | None = None
    """Chat length, for benchmarks that script a chat (None: their own default)."""
    ctx: int | None = None
    """Context window, for benchmarks that choose one (None: their own default)."""


class BenchReport(Protocol):
    def as_dict(self) -> dict[str, Any]:
        """The figures as one flat JSON object."""
        ...

    def render(self) -> Any:
        """The figures as a Rich renderable (a small table)."""
        ...


@dataclass(frozen=True)
class Bench:
    name: str
    module: str
    """Dotted module path exposing `run(info: ModelInfo, options: BenchOptions) -> BenchReport`."""
    flag: str | None
    """The CLI flag choosing it; None for the default benchmark."""
    help: str


BENCHES: tuple[Bench, ...] = (
    Bench(
        "streaming",
        "app.bench.streaming",
        None,
        "app streaming vs a raw llama-cpp-python loop (default)",
    ),
    Bench(
        "long-chat",
        "app.bench.long_chat",
        "--long-chat",
        "a scripted 300-turn chat: tokens evaluated per turn, first token, RSS, resume",
    ),
    Bench(
        "tui",
        "app.bench.tui",
        "--tui",
        "the terminal app through Pilot vs headless: tokens/s, key latency, first screen",
    ),
    Bench(
        "big-chat",
        "app.bench.big_chat",
        "--big-chat",
        "resuming a 100k-message chat (--turns sets its size) and a 60 MB message vs a "
        "100-message chat: time and peak memory",
    ),
    Bench(
        "busy",
        "app.bench.busy",
        "--busy",
        "decode idle vs with a CPU-bound program on one core, for several thread settings "
        "(short: --runs 1 --max-tokens 24)",
    ),
    Bench(
        "group",
        "app.bench.group",
        "--group",
        "a 3-NPC, 100-turn group scene (--turns) with a KV cache line per speaker vs the cache "
        "reset at every speaker switch: turns evaluating ≤ new + 32 tokens, first token",
    ),
    Bench(
        "server",
        "app.bench.server",
        "--server",
        "a 30-turn chat (--turns) on a remote model (--model NAME): prompt tokens the server "
        "evaluated per turn, with its prompt cache vs without",
    ),
)
