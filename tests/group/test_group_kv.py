"""KV lines of a scene on the real model: saved on close so a resumed scene's first turn per
speaker reads only what is new, and bounded in memory (lines pushed out come back from files)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from group_turns import SLACK, kv_scene, turn

from app.engine.base import Sampling
from app.group import GroupScene, load_cast
from app.home import Home
from app.memory.store import ChatStore

if TYPE_CHECKING:
    from app.engine.llamacpp import LlamaEngine

SAMPLING = Sampling(temperature=0.8, seed=2, max_tokens=12)


def _scene(
    home: Home, ids: list[str], engine: LlamaEngine, store: ChatStore, **how: Any
) -> GroupScene:
    return kv_scene(home, load_cast(home, ids), engine, store, **how)


def test_a_resumed_scene_reads_only_new_tokens_per_speaker(
    lw_home: Home, cast_ids: list[str], engine: LlamaEngine
) -> None:
    store = ChatStore.open(lw_home)
    scene = _scene(lw_home, cast_ids[:2], engine, store)
    scene.say("Tell me about the well.")
    last: dict[str, list[int]] = {}
    for _ in range(2):
        turn(scene, engine, last, SAMPLING)
    scene.close()
    assert (
        sorted(p.name for p in (lw_home.root / "kv-cache").iterdir())
        == [
            f"scene-{scene.chat.id}-{ref}.lwkv"  # type: ignore[union-attr]
            for ref in sorted(cast_ids[:2])
        ]
    )
    engine.reset_cache()  # as a new process would start
    resumed = _scene(lw_home, cast_ids[:2], engine, store)
    resumed.chat = scene.chat
    resumed.reload()
    resumed.say("And the gold?")
    for _ in range(2):  # each speaker's first turn after resuming
        evaluated, new = turn(resumed, engine, last, SAMPLING)
        assert evaluated <= new + SLACK, (evaluated, new)
    store.close()


def test_lines_held_in_memory_are_bounded_and_pushed_out_to_files(
    lw_home: Home,
    cast_ids: list[str],
    engine: LlamaEngine,
) -> None:
    store = ChatStore.open(lw_home)
    scene = _scene(lw_home, cast_ids, engine, store, held_lines=1)
    scene.say("Tell me about the well.")
    last: dict[str, list[int]] = {}
    figures = []
    for _ in range(5):
        figures.append(turn(scene, engine, last, SAMPLING))
        assert len(scene.speakers.held) <= 1
    for evaluated, new in figures[3:]:  # 2 of 3 lines come back from their files
        assert evaluated <= new + SLACK, figures
    assert any(Path(lw_home.root / "kv-cache").iterdir())
    store.close()
