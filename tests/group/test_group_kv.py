"""KV lines of a scene on the real model: saved on close so a resumed scene's first turn per
speaker reads only what is new, and bounded in memory (lines pushed out come back from files)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.engine.base import Sampling
from app.group import GroupScene, load_cast
from app.home import Home
from app.memory.store import ChatStore
from app.models import bundled_model_path, read_model_info
from app.prompts.formats import choose_format

if TYPE_CHECKING:
    from app.engine.llamacpp import LlamaEngine

SLACK = 32
SAMPLING = Sampling(temperature=0.8, seed=2, max_tokens=12)


def _scene(
    home: Home, ids: list[str], engine: LlamaEngine, store: ChatStore, **how: Any
) -> GroupScene:
    info = read_model_info(bundled_model_path(), "bundled")  # type: ignore[arg-type]
    return GroupScene(
        load_cast(home, ids),
        choose_format(None, info),
        engine,
        user="Wren",
        description="The village square of Dunmore at dusk.",
        store=store,
        order="round-robin",
        cache_dir=home.root / "kv-cache",
        **how,
    )


def _common(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _turn(scene: GroupScene, engine: LlamaEngine, last: dict[str, list[int]]) -> tuple[int, int]:
    """One NPC line by the turn order: (tokens evaluated, tokens new since its last line)."""
    speaker = scene.next_speaker()
    tokens = engine.tokenize(scene.prompt_for(speaker))
    reply = scene.reply(speaker, SAMPLING)
    reply.finish()
    new = len(tokens) - _common(tokens, last.get(speaker.id, []))
    last[speaker.id] = engine.cached_tokens()
    return reply.stats.evaluated_tokens, new


def test_a_resumed_scene_reads_only_new_tokens_per_speaker(
    lw_home: Home, cast_ids: list[str], engine: LlamaEngine
) -> None:
    store = ChatStore.open(lw_home)
    scene = _scene(lw_home, cast_ids[:2], engine, store)
    scene.say("Tell me about the well.")
    last: dict[str, list[int]] = {}
    for _ in range(2):
        _turn(scene, engine, last)
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
        evaluated, new = _turn(resumed, engine, last)
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
        figures.append(_turn(scene, engine, last))
        assert len(scene.speakers.held) <= 1
    for evaluated, new in figures[3:]:  # 2 of 3 lines come back from their files
        assert evaluated <= new + SLACK, figures
    assert any(Path(lw_home.root / "kv-cache").iterdir())
    store.close()
