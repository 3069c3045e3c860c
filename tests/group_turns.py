"""A group scene's turn on the real engine, measured: how many prompt tokens it evaluated
against how many were new since that speaker's last line (its KV line's reuse)."""

from __future__ import annotations

from typing import Any

from app.engine.base import Sampling
from app.group import GroupScene

SLACK = 32
"""Tokens a turn may evaluate beyond the new ones (the reply's last token, format edges)."""


def common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def turn(
    scene: GroupScene, engine: Any, last: dict[str, list[int]], sampling: Sampling
) -> tuple[int, int]:
    """One NPC line by the turn order: (tokens evaluated, tokens new since its last line)."""
    speaker = scene.next_speaker()
    tokens = engine.tokenize(scene.prompt_for(speaker))
    reply = scene.reply(speaker, sampling)
    reply.finish()
    new = len(tokens) - common_prefix(tokens, last.get(speaker.id, []))
    last[speaker.id] = engine.cached_tokens()
    return reply.stats.evaluated_tokens, new
