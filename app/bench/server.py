"""A long chat on an inference server: does each turn cost the server only its new tokens?

The scripted chat of `--long-chat` (an 800-token sheet, 40-token user lines, 120-token canned
replies that replace what the model said, greedy sampling, 16 tokens generated a turn) runs on
a remote model (`--model NAME`, see `loreweaver models add-remote`). Per turn it records the
prompt's tokens, its new tokens since the last turn (`chat_script.new_tokens`) and the prompt
tokens the server says it evaluated: llama-server's own `timings.prompt_n`, or an OpenAI
server's `usage` less its cached tokens. The baseline is the same chat with `cache_prompt` off,
so the server evaluates every prompt whole; to keep the run short it generates only on turn 1
and every `control_every`-th turn (the others are added to its chat without generating). The
ratio is what the server evaluated over those turns, with the cache over without.

A server that reports no evaluated count (only the prompt's size) makes both sides equal: the
report then says so rather than show a ratio of 1 as a finding.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
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
from app.sheets.sheet import Sheet

TURNS = 30
N_CTX = 8192
"""Large enough that the 30-turn chat drops no turn (a dropped turn is re-read once)."""
GEN_TOKENS = 16
SLACK = 32
"""Evaluated tokens a turn may exceed its new ones by (the previous reply's generated end)."""
CONTROL_EVERY = 5


@dataclass(frozen=True)
class ServerTurn:
    turn: int
    prompt_tokens: int
    new_tokens: int
    evaluated: int
    """Prompt tokens the server evaluated with `cache_prompt` on."""
    first_token_s: float
    evaluated_uncached: int | None = None
    """The same turn's prompt with `cache_prompt` off (None: a turn the baseline skipped)."""
    first_token_uncached_s: float | None = None


@dataclass
class ServerReport:
    server: str
    n_ctx: int
    turns: list[ServerTurn] = field(default_factory=list)

    def figures(self) -> dict[str, Any]:
        both = [t for t in self.turns if t.evaluated_uncached is not None]
        cached = sum(t.evaluated for t in both)
        whole = sum(t.evaluated_uncached or 0 for t in both)
        later = self.turns[1:]
        within = sum(t.evaluated <= t.new_tokens + SLACK for t in later)
        return {
            "evaluated_cached_total": sum(t.evaluated for t in self.turns),
            "prompt_tokens_total": sum(t.prompt_tokens for t in self.turns),
            "baseline_turns": [t.turn for t in both],
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
                "" if t.evaluated_uncached is None else str(t.evaluated_uncached),
            )
        if not figures["server_reports_evaluated"]:
            table.caption = "the server reported no evaluated count (only prompt sizes): no ratio"
            return table
        table.caption = (
            f"evaluated on the baseline's turns, cache / no cache: "
            f"{figures['cached_over_uncached']:.3f}; all turns: "
            f"{figures['evaluated_cached_total']} of {figures['prompt_tokens_total']} prompt "
            f"tokens; turns 2+ with evaluated ≤ new + {SLACK}: "
            f"{figures['turns_within_new_plus_32_fraction']:.0%}"
        )
        return table


Measured = dict[int, tuple[int, int, int, float]]
"""turn → (prompt tokens, new tokens, evaluated, first token s)."""


def _run_side(
    engine: RemoteEngine,
    info: ModelInfo,
    store: ChatStore,
    script: tuple[Sheet, list[str], list[str]],
    measure: Callable[[int], bool],
) -> Measured:
    """The scripted chat; the turns `measure` picks are generated, the others only added."""
    sheet, lines, replies = script
    settings = Settings(
        n_ctx=engine.n_ctx,
        sampling=SamplingSettings(temperature=0.0, max_tokens=GEN_TOKENS, seed=1),
    )
    session = start_session(
        engine, info, choose_format(None, info), sheet, "orla", settings,
        store=store, summaries=False,
    )  # fmt: skip
    sampling = Sampling(temperature=0.0, max_tokens=GEN_TOKENS, seed=1)
    measured: Measured = {}
    previous: list[int] = []
    try:
        for number, (line, canned) in enumerate(zip(lines, replies, strict=True), start=1):
            if not measure(number):
                chat = session.saved_chat()
                assert chat is not None
                previous = engine.tokenize(session.prompt(line))
                store.add_message(chat.id, "user", line, name=session.user)
                store.add_message(chat.id, "assistant", canned, name=sheet.name)
                session.reload()
                continue
            reply = session.send(line, sampling)
            reply.finish()
            tokens = engine.tokenize(session.last_prompt)
            new = new_tokens(previous, tokens) if previous else len(tokens)
            stats = reply.stats
            measured[number] = (
                len(tokens),
                new,
                stats.evaluated_tokens,
                stats.first_token_s or 0.0,
            )
            previous = tokens
            append_canned(session, canned)
    finally:
        session.close()
    return measured


def run_server_chat(
    info: ModelInfo, *, turns: int = TURNS, n_ctx: int = N_CTX, control_every: int = CONTROL_EVERY
) -> ServerReport:
    """The chat on `info`'s server with `cache_prompt`, then the baseline without it."""
    if info.remote is None:
        raise LoreweaverError(
            "bench --server: give --model NAME of a remote model (`loreweaver models add-remote`)"
        )
    with RemoteEngine(info, info.remote, n_ctx_cap=n_ctx) as engine:
        sheet = bench_sheet(engine)
        lines = [user_line(engine, n) for n in range(1, turns + 1)]
        replies = [canned_reply(engine, n) for n in range(1, turns + 1)]
        with tempfile.TemporaryDirectory(prefix="lw-server-chat-") as tmp:
            where = Home(Path(tmp)).ensure()
            with ChatStore.open(where) as store:
                script = (sheet, lines, replies)
                cached = _run_side(engine, info, store, script, lambda _n: True)
                engine.cache_prompt = False
                whole = _run_side(
                    engine, info, store, script, lambda n: n == 1 or n % control_every == 0
                )
        report = ServerReport(info.remote.name, engine.n_ctx)
        for number, (prompt, new, evaluated, first) in sorted(cached.items()):
            base = whole.get(number)
            report.turns.append(
                ServerTurn(
                    number,
                    prompt,
                    new,
                    evaluated,
                    first,
                    None if base is None else base[2],
                    None if base is None else base[3],
                )  # fmt: skip
            )
        return report


def run(info: ModelInfo, options: BenchOptions) -> ServerReport:
    return run_server_chat(info, turns=options.turns or TURNS, n_ctx=options.ctx or N_CTX)
