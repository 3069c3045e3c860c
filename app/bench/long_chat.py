"""A scripted long chat: does each turn cost only its new tokens, however long the chat gets?

The chat runs through the real pipeline — a session on a real SQLite store, prompt assembly
with its budget and chunked eviction, the engine's KV reuse and context shift — with an
800-token sheet, 40-token user lines and 120-token canned replies that replace whatever the
model said (so every run sees the same chat), greedy sampling and a small window that fills
early. Per turn it records the prompt's tokens, its *new* tokens, the tokens llama.cpp actually
evaluated (read from llama.cpp's own perf counters, not from the engine's plan), the time to
the first token and the resident memory.

New tokens are counted independently of the engine: what is left of the prompt after the
longest common prefix with the previous turn's prompt and, after that, the longest run the two
share (difflib), when that run is long enough to move rather than re-read (64 tokens, as in
the engine). Old turns dropped from the window are therefore not "new", and per-turn notes that
moved to the end are.

The control is the same chat with the KV cache reset before every measured turn: it
re-reads the whole prompt each time, the way a front-end that rebuilds the prompt does. To keep
the run short it generates only on a sample of turns (both figure windows, and every
`control_every`-th turn); the other turns are appended to its chat without generating.

Resume: the chat at the end (≈3000+ tokens of prompt) is closed, which saves its KV state;
the time to restore it and produce the next first token is compared with re-reading it.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from app.bench import BenchOptions
from app.bench.chat_script import (
    append_canned,
    bench_sheet,
    canned_reply,
    new_tokens,
    user_line,
)
from app.bench.common import current_rss_mb, median
from app.engine.base import Sampling
from app.engine.llamacpp import LlamaEngine, load_engine
from app.home import Home
from app.memory.store import ChatStore
from app.models import ModelInfo
from app.prompts.formats import choose_format
from app.session import ChatSession
from app.session_start import start_session
from app.settings import SamplingSettings, Settings
from app.sheets.sheet import Sheet

TURNS = 300
N_CTX = 4096
GEN_TOKENS = 16
"""Tokens generated per turn: enough for a first-token time and a stop; the reply is canned."""
SLACK = 32
CONTROL_EVERY = 25


@dataclass(frozen=True)
class TurnRecord:
    turn: int
    prompt_tokens: int
    new_tokens: int
    evaluated_tokens: int
    first_token_s: float
    rss_mb: float

    @property
    def within(self) -> bool:
        return self.evaluated_tokens <= self.new_tokens + SLACK


@dataclass
class Side:
    """One run of the scripted chat (the app, or the reset-every-turn control)."""

    turns: list[TurnRecord] = field(default_factory=list)
    total_turns: int = 0

    def window(self, low: int, high: int) -> list[TurnRecord]:
        return [t for t in self.turns if low <= t.turn <= high]

    def figures(self) -> dict[str, float]:
        early_low, early_high, late_low = windows(self.total_turns)
        early = [t.first_token_s for t in self.window(early_low, early_high)]
        late = [t.first_token_s for t in self.window(late_low, self.total_turns)]
        full = self.first_full_turn()
        rss_from = next((t.rss_mb for t in self.turns if t.turn >= full), 0.0)
        first_rss = self.turns[0].rss_mb if self.turns else 0.0
        return {
            "evaluated_within_new_plus_32_fraction": (
                sum(t.within for t in self.turns) / len(self.turns) if self.turns else 0.0
            ),
            "first_token_late_over_early": median(late) / median(early) if early else 0.0,
            "first_token_early_median_s": median(early),
            "first_token_late_median_s": median(late),
            "rss_growth_mb": (self.turns[-1].rss_mb - rss_from) if self.turns else 0.0,
            "rss_window_fill_mb": rss_from - first_rss,
            "window_full_at_turn": full,
        }

    def first_full_turn(self) -> int:
        """The first turn that dropped old turns: from then on the window is full.

        Until then llama.cpp's KV cache and attention buffers are touched a little further every
        turn (memory bounded by the context size, reported as `rss_window_fill_mb`); growth
        after it is what a long chat would accumulate (`rss_growth_mb`).
        """
        pairs = zip(self.turns, self.turns[1:], strict=False)
        return next(
            (b.turn for a, b in pairs if b.prompt_tokens < a.prompt_tokens),
            windows(self.total_turns)[0],
        )


def windows(turns: int) -> tuple[int, int, int]:
    """The early (10–20) and late (250–300) turn windows of a 300-turn run, scaled to `turns`."""
    early_low = max(2, round(turns * 10 / TURNS))
    early_high = max(early_low + 1, round(turns * 20 / TURNS))
    late_low = max(early_high + 1, round(turns * 250 / TURNS))
    return early_low, early_high, late_low


@dataclass
class LongChatReport:
    app: Side
    control: Side
    n_ctx: int
    resume_s: float = 0.0
    reread_s: float = 0.0
    resume_prompt_tokens: int = 0
    state_file_mb: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "turns": [asdict(t) for t in self.app.turns],
            **self.app.figures(),
            "resume_over_reread": self.resume_s / self.reread_s if self.reread_s else 0.0,
            "resume_s": self.resume_s,
            "reread_s": self.reread_s,
            "resume_prompt_tokens": self.resume_prompt_tokens,
            "state_file_mb": self.state_file_mb,
            "n_ctx": self.n_ctx,
            "control": {"turns": [asdict(t) for t in self.control.turns], **self.control.figures()},
        }

    def render(self) -> Any:
        from rich.table import Table

        app, control = self.app.figures(), self.control.figures()
        table = Table(
            title=f"Long chat: {self.app.total_turns} turns, context {self.n_ctx}",
            title_justify="left",
        )
        table.add_column("figure")
        table.add_column("app", justify="right")
        table.add_column("reset every turn", justify="right")
        table.add_column("target")
        table.add_row(
            "turns with evaluated ≤ new + 32",
            f"{app['evaluated_within_new_plus_32_fraction']:.1%}",
            f"{control['evaluated_within_new_plus_32_fraction']:.1%}",
            "≥ 95 %",
        )
        table.add_row(
            "first token, late / early turns",
            f"{app['first_token_late_over_early']:.2f}",
            f"{control['first_token_late_over_early']:.2f}",
            "≤ 1.3",
        )
        table.add_row(
            "first token, early turns (median)",
            f"{app['first_token_early_median_s']:.3f} s",
            f"{control['first_token_early_median_s']:.3f} s",
            "",
        )
        table.add_row(
            "first token, late turns (median)",
            f"{app['first_token_late_median_s']:.3f} s",
            f"{control['first_token_late_median_s']:.3f} s",
            "",
        )
        table.add_row(
            f"RSS while the window fills (turns 1–{app['window_full_at_turn']:.0f})",
            f"{app['rss_window_fill_mb']:.1f} MB",
            f"{control['rss_window_fill_mb']:.1f} MB",
            "bounded by the context",
        )
        table.add_row(
            "RSS growth once the window is full",
            f"{app['rss_growth_mb']:.1f} MB",
            f"{control['rss_growth_mb']:.1f} MB",
            "< 50 MB",
        )
        ratio = self.resume_s / self.reread_s if self.reread_s else 0.0
        table.add_row(
            f"resume of a {self.resume_prompt_tokens}-token chat / re-read",
            f"{ratio:.3f} ({self.resume_s:.2f} s / {self.reread_s:.2f} s)",
            "",
            "≤ 0.25",
        )
        return table


def _run_side(
    engine: LlamaEngine,
    info: ModelInfo,
    store: ChatStore,
    sheet: Sheet,
    lines: list[str],
    replies: list[str],
    *,
    control: bool,
    control_every: int,
) -> tuple[Side, ChatSession]:
    settings = Settings(
        n_ctx=engine.n_ctx,
        sampling=SamplingSettings(temperature=0.0, max_tokens=GEN_TOKENS, seed=1),
    )
    session = start_session(
        engine,
        info,
        choose_format(None, info),
        sheet,
        "orla",
        settings,
        store=store,
        summaries=False,
    )
    sampling = Sampling(temperature=0.0, max_tokens=GEN_TOKENS, seed=1)
    turns = len(lines)
    early_low, early_high, late_low = windows(turns)
    side = Side(total_turns=turns)
    previous: list[int] = []
    engine.reset_cache()
    for number, (line, canned) in enumerate(zip(lines, replies, strict=True), start=1):
        in_windows = early_low <= number <= early_high or number >= late_low
        measured = not control or (
            number == 1
            or number % control_every == 0
            or (in_windows and (number % 5 == 0 or turns < 60))
        )
        if not measured:
            assert session.chat is not None
            previous = engine.tokenize(session.prompt(line))
            store.add_message(session.chat.id, "user", line, name=session.user)
            store.add_message(session.chat.id, "assistant", canned, name=sheet.name)
            session.reload()
            continue
        if control:
            engine.reset_cache()
        before = engine.decoded_tokens()
        reply = session.send(line, sampling)
        for _ in reply:
            pass
        reply.finish()
        decoded = engine.decoded_tokens() - before
        stats = reply.stats
        tokens = engine.tokenize(session.last_prompt)
        # what was decoded, less the generated tokens fed back (all but the last one)
        evaluated = decoded - max(stats.completion_tokens - 1, 0)
        side.turns.append(
            TurnRecord(
                turn=number,
                prompt_tokens=len(tokens),
                new_tokens=new_tokens(previous, tokens) if previous else len(tokens),
                evaluated_tokens=evaluated,
                first_token_s=stats.first_token_s or 0.0,
                rss_mb=current_rss_mb(),
            )
        )
        previous = tokens
        append_canned(session, canned)
    return side, session


def _first_token(engine: LlamaEngine, prompt: str) -> float:
    started = time.perf_counter()
    generation = engine.generate(prompt, Sampling(temperature=0.0, max_tokens=1, seed=1))
    for _ in generation:
        break
    for _ in generation:
        pass
    return time.perf_counter() - started


def _resume(
    engine: LlamaEngine, session: ChatSession, line: str, state: Path
) -> tuple[float, float, int, float]:
    """(resume seconds, re-read seconds, prompt tokens, state file MB) for the next turn."""
    session.state_path = state
    prompt = session.prompt(line)
    session.close()  # saves the KV state, as closing the app does
    size = state.stat().st_size / 1e6 if state.is_file() else 0.0
    engine.reset_cache()
    reread = _first_token(engine, prompt)
    engine.reset_cache()
    started = time.perf_counter()
    restored = session.restore_cache()
    _first_token(engine, prompt)
    resume = time.perf_counter() - started
    return (resume if restored else reread), reread, engine.count_tokens(prompt), size


def run_long_chat(
    info: ModelInfo,
    *,
    turns: int = TURNS,
    n_ctx: int = N_CTX,
    n_threads: int | None = None,
    control_every: int = CONTROL_EVERY,
    resume: bool = True,
) -> LongChatReport:
    """`resume=False` skips the resume comparison (a timing, of no use on a shortened run)."""
    engine = load_engine(info, n_threads=n_threads, n_ctx_cap=n_ctx)
    try:
        sheet = bench_sheet(engine)
        lines = [user_line(engine, n) for n in range(1, turns + 1)]
        replies = [canned_reply(engine, n) for n in range(1, turns + 1)]
        with tempfile.TemporaryDirectory(prefix="lw-long-chat-") as tmp:
            where = Home(Path(tmp)).ensure()
            with ChatStore.open(where) as store:
                sides: list[Side] = []
                figures = (0.0, 0.0, 0, 0.0)
                for control in (False, True):
                    side, session = _run_side(
                        engine, info, store, sheet, lines, replies,
                        control=control, control_every=control_every,
                    )  # fmt: skip
                    sides.append(side)
                    if resume and not control:
                        line, state = user_line(engine, turns + 1), Path(tmp) / "chat.lwkv"
                        figures = _resume(engine, session, line, state)
                    else:
                        session.close()
        return LongChatReport(sides[0], sides[1], engine.n_ctx, *figures)
    finally:
        engine.close()


def run(info: ModelInfo, options: BenchOptions) -> LongChatReport:
    return run_long_chat(
        info,
        turns=options.turns or TURNS,
        n_ctx=options.ctx or N_CTX,
        n_threads=options.n_threads,
    )
