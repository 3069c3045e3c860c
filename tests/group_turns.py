"""Group scenes on the real engine for the KV-line tests: the scene they play, and a turn
measured (prompt tokens evaluated against those new since that speaker's last line)."""

from __future__ import annotations

from typing import Any

from app.engine.base import Sampling
from app.engine.kvplan import _common_prefix
from app.group import GroupScene, Member
from app.home import Home
from app.memory.store import ChatStore
from app.models import bundled_model_path, read_model_info
from app.prompts.formats import choose_format

SLACK = 32
"""Tokens a turn may evaluate beyond the new ones (the reply's last token, format edges)."""


def kv_scene(
    home: Home, cast: list[Member], engine: Any, store: ChatStore, **how: Any
) -> GroupScene:
    """A stored round-robin scene in the village square whose lines are saved in the home."""
    info = read_model_info(bundled_model_path(), "bundled")  # type: ignore[arg-type]
    return GroupScene(
        cast,
        choose_format(None, info),
        engine,
        user="Wren",
        description="The village square of Dunmore at dusk.",
        store=store,
        order="round-robin",
        cache_dir=home.root / "kv-cache",
        **how,
    )


def turn(
    scene: GroupScene, engine: Any, last: dict[str, list[int]], sampling: Sampling
) -> tuple[int, int]:
    """One NPC line by the turn order: (tokens evaluated, tokens new since its last line)."""
    speaker = scene.next_speaker()
    tokens = engine.tokenize(scene.prompt_for(speaker))
    reply = scene.reply(speaker, sampling)
    reply.finish()
    new = len(tokens) - _common_prefix(tokens, last.get(speaker.id, []))
    last[speaker.id] = engine.cached_tokens()
    return reply.stats.evaluated_tokens, new
