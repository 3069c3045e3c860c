"""`bench --group`: a 3-NPC scene with a KV cache line per speaker, against the same scene with
the cache reset at every speaker switch (what one shared cache amounts to when each speaker's
prompt opens with its own persona).

Speakers take turns in rotation (a switch every turn: the worst case), the player speaks every
tenth turn. For each turn, "new" is what the speaker's prompt holds beyond the longest prefix it
shares with that speaker's own last prompt and reply (measured on tokens, the same way in both
runs); a turn passes when the tokens the engine evaluated are at most new + 32. Reported: the
fraction of passing turns in each run and the ratio of median first-token times (reset / lines).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from app.bench import BenchOptions
from app.bench.chat_script import WORDS
from app.bench.common import median
from app.engine.base import Sampling
from app.engine.llamacpp import LlamaEngine, load_engine
from app.group.cast import Member
from app.group.kvlines import Mode
from app.group.scene import GroupScene
from app.models import ModelInfo
from app.prompts.formats import choose_format
from app.sheets.sheet import Sheet

TURNS = 100
N_CTX = 8192
SLACK = 32
"""Tokens beyond what is new that a turn may evaluate and still count as cached."""
REPLY_TOKENS = 24
PLAYER_EVERY = 10


def bench_cast(seed: int = 0) -> list[Member]:
    """Three NPCs with sheets of a few hundred tokens each (deterministic prose)."""
    rng = random.Random(seed)
    cast = []
    for ref, name in (("ada", "Ada"), ("bram", "Bram"), ("cole", "Cole")):
        prose = " ".join(rng.choice(WORDS) for _ in range(200))
        sheet = Sheet.model_validate(
            {
                "name": name,
                "description": f"{name} keeps a stall at the harbour market. {prose}",
                "goals": [f"{name} wants the harbour toll lowered"],
                "knowledge": [f"{name}'s secret: {rng.choice(WORDS)} {rng.choice(WORDS)}"],
            }
        )
        cast.append(Member(ref, sheet))
    return cast


@dataclass
class GroupRun:
    mode: Mode
    evaluated: list[int] = field(default_factory=list)
    new: list[int] = field(default_factory=list)
    first_token_s: list[float] = field(default_factory=list)

    @property
    def within(self) -> float:
        """Fraction of turns that evaluated at most new + SLACK tokens."""
        pairs = list(zip(self.evaluated, self.new, strict=True))
        return sum(e <= n + SLACK for e, n in pairs) / len(pairs) if pairs else 0.0

    def figures(self) -> dict[str, Any]:
        return {
            "turns": len(self.evaluated),
            "within_new_plus_32": round(self.within, 3),
            "evaluated_total": sum(self.evaluated),
            "median_evaluated": median(self.evaluated),
            "median_first_token_s": round(median(self.first_token_s), 4),
        }


def _common(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def play(engine: LlamaEngine, info: ModelInfo, mode: Mode, turns: int) -> GroupRun:
    """One scripted scene on `engine` from an empty cache, speaker lines kept by `mode`."""
    engine.reset_cache()
    scene = GroupScene(
        bench_cast(),
        choose_format(None, info),
        engine,
        user="Wren",
        description="The harbour market at noon; the toll collector is late.",
        order="round-robin",
        kv=mode,
    )
    run = GroupRun(mode)
    rng = random.Random(1)
    seen: dict[str, list[int]] = {}
    for turn in range(turns):
        if turn % PLAYER_EVERY == 0:
            scene.say(" ".join(rng.choice(WORDS) for _ in range(12)).capitalize() + "?")
        speaker = scene.next_speaker()
        tokens = engine.tokenize(scene.prompt_for(speaker))
        sampling = Sampling(temperature=0.8, seed=turn, max_tokens=REPLY_TOKENS)
        reply = scene.reply(speaker, sampling)
        reply.finish()
        stats = reply.generation.stats
        run.evaluated.append(stats.evaluated_tokens)
        run.new.append(len(tokens) - _common(tokens, seen.get(speaker.id, [])))
        run.first_token_s.append(stats.first_token_s or stats.total_s)
        seen[speaker.id] = engine.cached_tokens()
    return run


@dataclass
class GroupReport:
    lines: GroupRun
    reset: GroupRun
    n_ctx: int

    def as_dict(self) -> dict[str, Any]:
        lines, reset = self.lines.figures(), self.reset.figures()
        base = reset["median_first_token_s"]
        ours = lines["median_first_token_s"]
        return {
            "n_ctx": self.n_ctx,
            "lines": lines,
            "reset": reset,
            "first_token_ratio_reset_vs_lines": round(base / ours, 2) if ours else None,
        }

    def render(self) -> Any:
        from rich.table import Table

        figures = self.as_dict()
        table = Table(title=f"Group scene: 3 NPCs, {len(self.lines.evaluated)} turns")
        table.add_column("figure")
        table.add_column("a line per speaker", justify="right")
        table.add_column("reset at each switch", justify="right")
        for key in figures["lines"]:
            table.add_row(key, str(figures["lines"][key]), str(figures["reset"][key]))
        ratio = figures["first_token_ratio_reset_vs_lines"]
        table.add_row("median first token, reset / lines", str(ratio), "")
        return table


def run_group(
    info: ModelInfo, *, turns: int = TURNS, n_ctx: int = N_CTX, n_threads: int | None = None
) -> GroupReport:
    with load_engine(info, n_ctx=n_ctx, n_threads=n_threads) as engine:
        lines = play(engine, info, "lines", turns)
        reset = play(engine, info, "reset", turns)
    return GroupReport(lines, reset, n_ctx)


def run(info: ModelInfo, options: BenchOptions) -> GroupReport:
    return run_group(
        info, turns=options.turns or TURNS, n_ctx=options.ctx or N_CTX, n_threads=options.n_threads
    )
