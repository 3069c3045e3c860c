"""Group scenes on the real model: private prompts, nobody speaking for another, turn order,
one chat tree in the store."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

import pytest

from app.engine.base import Sampling
from app.errors import LoreweaverError
from app.group import GroupScene, load_cast, next_speaker
from app.group.order import mentioned
from app.home import Home
from app.memory.store import ChatStore
from app.models import bundled_model_path, read_model_info
from app.prompts.formats import choose_format

if TYPE_CHECKING:
    from app.engine.llamacpp import LlamaEngine

SAMPLING = Sampling(temperature=0.9, seed=7, max_tokens=40)


def _scene(
    home: Home, ids: list[str], engine: LlamaEngine, store: ChatStore | None = None
) -> GroupScene:
    info = read_model_info(bundled_model_path(), "bundled")  # type: ignore[arg-type]
    cast = load_cast(home, ids)
    return GroupScene(
        cast,
        choose_format(None, info),
        engine,
        user="Wren",
        description="The village square of Dunmore at dusk.",
        store=store,
        rng=random.Random(3),
    )


def test_each_prompt_holds_only_its_own_secret(
    lw_home: Home, cast_ids: list[str], engine: LlamaEngine, secrets: dict[str, str]
) -> None:
    scene = _scene(lw_home, cast_ids, engine)
    scene.say("Good evening, everyone.")
    for member in scene.cast:
        prompt = scene.prompt_for(member)
        for ref, secret in secrets.items():
            assert (secret in prompt) == (ref == member.id), (member.id, ref)
        assert "Wren: Good evening, everyone." in prompt


def test_thirty_turns_never_speak_for_another(
    lw_home: Home, cast_ids: list[str], engine: LlamaEngine, names: dict[str, str]
) -> None:
    store = ChatStore.open(lw_home)
    scene = _scene(lw_home, cast_ids, engine, store)
    scene.order = "round-robin"
    scene.say("Tell me what happened at the well.")
    labels = [f"{n}:" for n in [*names.values(), "Wren"]]
    spoken = []
    for reply in scene.talk(30, SAMPLING):
        line = reply.finish()
        spoken.append(line.speaker)
        for row in line.text.splitlines():
            assert not any(row.strip().startswith(label) for label in labels), line
    assert spoken == [cast_ids[i % 3] for i in range(30)]
    path = store.active_path(scene.chat.id)  # type: ignore[union-attr]
    assert [m.meta.get("speaker") for m in path[1:]] == [line.speaker for line in scene.lines[1:]]
    assert {m.name for m in path[1:]} <= set(names.values())
    store.close()


def test_mention_picks_the_addressed_npc(
    lw_home: Home, cast_ids: list[str], engine: LlamaEngine, names: dict[str, str]
) -> None:
    scene = _scene(lw_home, cast_ids, engine)
    for ref, name in names.items():
        scene.say(f"What do you think, {name}?")
        assert scene.next_speaker().id == ref
        line = scene.reply(None, SAMPLING).finish()
        assert line.speaker == ref
    assert mentioned("nobody here", scene.cast) is None


def test_talkativeness_weights_the_draw(lw_home: Home, cast_ids: list[str]) -> None:
    cast = load_cast(lw_home, cast_ids)
    rng = random.Random(1)
    picks = [next_speaker(cast, "talkative", rng=rng).id for _ in range(300)]
    assert picks.count("talia") > picks.count("mira") + picks.count("oskar")


def test_regenerate_keeps_a_swipe_in_one_tree(
    lw_home: Home, cast_ids: list[str], engine: LlamaEngine
) -> None:
    store = ChatStore.open(lw_home)
    scene = _scene(lw_home, cast_ids, engine, store)
    scene.say("Oskar, where is the gold?")
    first = scene.reply(None, SAMPLING).finish()
    second = scene.regenerate(Sampling(temperature=0.9, seed=99, max_tokens=40)).finish()
    assert second.speaker == first.speaker == "oskar"
    assert store.get_message(second.id).parent_id == store.get_message(first.id).parent_id  # type: ignore[arg-type]
    assert [line.id for line in scene.lines] == [m.id for m in store.active_path(scene.chat.id)]  # type: ignore[union-attr]
    store.close()


@pytest.mark.parametrize(
    ("ids", "named"), [(["mira", "ghost"], "ghost"), (["mira", "oskar", "mira"], "mira")]
)
def test_a_bad_cast_names_the_character(
    lw_home: Home, cast_ids: list[str], ids: list[str], named: str
) -> None:
    with pytest.raises(LoreweaverError, match=named):
        load_cast(lw_home, ids)
