"""A long chat on an inference server: does each turn cost the server only its new tokens?

The scripted chat of `--long-chat` (an 800-token sheet, 40-token user lines, 120-token canned
replies that replace what the model said, greedy sampling, 16 tokens generated a turn) runs on
a remote model (`--model NAME`, see `loreweaver models add-remote`). Per turn it records the
prompt's tokens, its new tokens since the last turn (`chat_script.new_tokens`) and the prompt
tokens the server says it evaluated: llama-server's own `timings.prompt_n`, or an OpenAI
server's `usage` less its cached tokens. The baseline is the same chat with `cache_prompt` off,
so the server evaluates every prompt whole; the ratio is total evaluated, cached over not.

A server that reports no evaluated count (only the prompt's size) makes both sides equal: the
report then says so rather than show a ratio of 1 as a finding.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from app.bench import BenchOptions
from app.bench.chat_script import append_canned, bench_sheet, canned_reply, new_tokens, user_line
from app.engine.base import Sampling
from app.engine.remote.engine import RemoteEngine
from app.errors import LoreweaverError
from app.home import Home
from app.memory.store import ChatStore
from app.models import ModelInfo
from app.prompts.formats import choose_format
from app.session_start import start_session
from app.settings import SamplingSettings, Settings

TURNS = 30
N_CTX = 8192
"""Large enough that the 30-turn chat drops no turn (a dropped turn is re-read once)."""
GEN_TOKENS = 16
SLACK = 32
"""Evaluated tokens a turn may exceed its new ones by (the previous reply's generated end)."""


@dataclass(frozen=True)
class ServerTurn:
    turn: int
    prompt_tokens: int
    new_tokens: int
    evaluated: int
    """Prompt tokens the server evaluated with `cache_prompt` on."""
    evaluated_uncached: int
    """The same turn's prompt with `cache_prompt` off."""
    first_token_s: float
    first_token_uncached_s: float


@dataclass
class ServerReport:
    server: str
    n_ctx: int
    turns: list[ServerTurn] = field(default_factory=list)

    def figures(self) -> dict[str, Any]:
        cached = sum(t.evaluated for t in self.turns)
        whole = sum(t.evaluated_uncached for t in self.turns)
        later = self.turns[1:]
        within = sum(t.evaluated <= t.new_tokens + SLACK for t in later)
        return {
            "evaluated_cached_total": cached,
            "evaluated_uncached_total": whole,
            "cached_over_uncached": cached / whole if whole else 0.0,
            "turns_within_new_plus_32_fraction": within / len(later) if later else 0.0,
            "server_reports_evaluated": any(t.evaluated < t.prompt_tokens for t in later),
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "n_ctx": self.n_ctx,
            **self.figures(),
            "turns": [asdict(t) for t in self.turns],
        }

    def render(self) -> Any:
        from rich.table import Table

        figures = self.figures()
        table = Table(
            title=f"Long chat on {self.server}: {len(self.turns)} turns, prompt tokens the server "
            "evaluated",
            title_justify="left",
        )
        for name in ("turn", "prompt", "new", "evaluated (cache)", "evaluated (no cache)"):
            table.add_column(name, justify="right")
        for t in self.turns:
            table.add_row(
                *(str(n) for n in (t.turn, t.prompt_tokens, t.new_tokens, t.evaluated)),
                str(t.evaluated_uncached),
            )
        if not figures["server_reports_evaluated"]:
            table.caption = "the server reported no evaluated count (only prompt sizes): no ratio"
            return table
        table.caption = (
            f"total evaluated, cache / no cache: {figures['evaluated_cached_total']} / "
            f"{figures['evaluated_uncached_total']} = {figures['cached_over_uncached']:.3f}; "
            f"turns 2+ with evaluated ≤ new + {SLACK}: "
            f"{figures['turns_within_new_plus_32_fraction']:.0%}"
        )
        return table


def run_server_chat(info: ModelInfo, *, turns: int = TURNS, n_ctx: int = N_CTX) -> ServerReport:
    """The chat twice on `info`'s server: with `cache_prompt`, then without."""
    if info.remote is None:
        raise LoreweaverError(
            "bench --server: give --model NAME of a remote model (`loreweaver models add-remote`)"
        )
    with RemoteEngine(info, info.remote, n_ctx_cap=n_ctx) as engine:
        sheet = bench_sheet(engine)
        lines = [user_line(engine, n) for n in range(1, turns + 1)]
        replies = [canned_reply(engine, n) for n in range(1, turns + 1)]
        settings = Settings(
            n_ctx=engine.n_ctx,
            sampling=SamplingSettings(temperature=0.0, max_tokens=GEN_TOKENS, seed=1),
        )
        sampling = Sampling(temperature=0.0, max_tokens=GEN_TOKENS, seed=1)
        sides: list[list[tuple[int, int, int, float]]] = []
        with tempfile.TemporaryDirectory(prefix="lw-server-chat-") as tmp:
            where = Home(Path(tmp)).ensure()
            with ChatStore.open(where) as store:
                for cache in (True, False):
                    engine.cache_prompt = cache
                    session = start_session(
                        engine, info, choose_format(None, info), sheet, "orla", settings,
                        store=store, summaries=False,
                    )  # fmt: skip
                    side = []
                    previous: list[int] = []
                    for line, canned in zip(lines, replies, strict=True):
                        reply = session.send(line, sampling)
                        reply.finish()
                        tokens = engine.tokenize(session.last_prompt)
                        new = new_tokens(previous, tokens) if previous else len(tokens)
                        stats = reply.stats
                        side.append(
                            (len(tokens), new, stats.evaluated_tokens, stats.first_token_s or 0.0)
                        )
                        previous = tokens
                        append_canned(session, canned)
                    session.close()
                    sides.append(side)
        report = ServerReport(info.remote.name, engine.n_ctx)
        for number, (cached, whole) in enumerate(zip(*sides, strict=True), start=1):
            report.turns.append(
                ServerTurn(number, cached[0], cached[1], cached[2], whole[2], cached[3], whole[3])
            )
        return report


def run(info: ModelInfo, options: BenchOptions) -> ServerReport:
    return run_server_chat(info, turns=options.turns or TURNS, n_ctx=options.ctx or N_CTX)
