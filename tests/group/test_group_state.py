"""Per-NPC state, lore timers and group greetings in a scene, asserted on rendered prompts (the
real model where a line is generated)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import yaml
from npc.npc_sheet import npc_data

from app.engine.base import Sampling
from app.group import GroupScene, Member, load_cast
from app.home import Home
from app.memory.store import ChatStore
from app.models import bundled_model_path, read_model_info
from app.npc.state import NPC_META, OVERLAY
from app.prompts.formats import PromptFormat, choose_format
from app.sheets.lorebook import Lorebook
from app.sheets.sheet import Sheet

if TYPE_CHECKING:
    from app.engine.llamacpp import LlamaEngine


def _fmt() -> PromptFormat:
    return choose_format(None, read_model_info(bundled_model_path(), "bundled"))  # type: ignore[arg-type]


def _write(home: Home, ref: str, data: dict[str, Any]) -> None:
    (home.characters / f"{ref}.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")


def test_each_structured_npc_keeps_its_own_state_per_line(
    lw_home: Home, engine: LlamaEngine
) -> None:
    _write(lw_home, "gerd", npc_data(line_max_chars=24, text_max_chars=8))
    other = {
        "name": "Ilse",
        "description": "Ilse sells eels by the gate.",
        "structured": {"line_max_chars": 24},
        "state": [{"name": "dread", "type": "int", "default": 3, "min": 0, "max": 10}],
    }
    _write(lw_home, "ilse", other)
    store = ChatStore.open(lw_home)
    gerd, ilse = cast = load_cast(lw_home, ["gerd", "ilse"])
    scene = GroupScene(cast, _fmt(), engine, user="Ann", store=store)
    scene.say("Gerd, open the gate!")
    line = scene.reply(gerd, Sampling(temperature=0.7, seed=1, max_tokens=24)).finish()
    assert not line.text.lstrip().startswith("{")  # the line, not its JSON
    note = store.get_message(line.id).meta[NPC_META]  # type: ignore[arg-type]
    assert note["emotion"] and OVERLAY in note
    # a state of Gerd's own at this line: only Gerd's prompt states it
    kept = {**note, OVERLAY: {"state": {"gold": 42, "mood": "grim"}, "trust": {}}}
    store.update_reply(line.id, line.text, meta={NPC_META: kept})
    scene.reload()
    gerd_prompt, ilse_prompt = scene.prompt_for(gerd), scene.prompt_for(ilse)
    assert "gold = 42" in gerd_prompt and "mood = grim" in gerd_prompt
    assert "gold" not in ilse_prompt and "grim" not in ilse_prompt and "dread = 3" in ilse_prompt
    assert "dread" not in gerd_prompt
    assert 'Reply only with JSON: "line" is what Ilse' in ilse_prompt
    # a swipe has its own state; swiping back brings this one back
    retake = scene.regenerate(Sampling(temperature=0.9, seed=5, max_tokens=24)).finish()
    assert retake.speaker == "gerd" and scene.swipe_position() == (2, 2)
    assert "gold = 42" not in scene.prompt_for(gerd)
    scene.swipe(-1)
    assert "gold = 42" in scene.prompt_for(gerd) and "gold" not in scene.prompt_for(ilse)
    store.close()


def _member(ref: str, name: str, world: list[Lorebook], own: Lorebook | None = None) -> Member:
    return Member(ref, Sheet(name=name, description=f"{name} of Dunmore."), world, own)


def test_lore_timers_count_on_in_scene_turns(lw_home: Home, engine: LlamaEngine) -> None:
    shared = Lorebook.model_validate(
        {"entries": [{"keys": ["zorbleflax"], "content": "The mill burned down.", "sticky": 3}]}
    )
    secret = Lorebook.model_validate(
        {"entries": [{"keys": ["zorbleflax"], "content": "Ada lit the fire.", "sticky": 3}]}
    )
    ada, bo = _member("ada", "Ada", [shared], secret), _member("bo", "Bo", [shared])
    scene = GroupScene([ada, bo], _fmt(), engine, user="Wren")
    scene.say("What of the zorbleflax?")
    reply = scene.reply(ada, Sampling(temperature=0.0, seed=1, max_tokens=4))  # turn 1: fires
    reply.cancel()
    reply.finish()
    for text in ("Hm.", "Well?", "Go on."):  # the key leaves the scan window (depth 2)
        scene.say(text)
    assert len(scene.lines) == 4
    assert "The mill burned down." in scene.prompt_for(bo)  # sticky through turn 4
    assert "Ada lit the fire." in scene.prompt_for(ada)
    assert "Ada lit the fire." not in scene.prompt_for(bo)  # Ada's own book stays hers
    scene.say("And now?")
    assert "The mill burned down." not in scene.prompt_for(bo)  # turn 5: the span is over


def test_a_new_scene_opens_with_the_group_greetings(lw_home: Home, engine: LlamaEngine) -> None:
    _write(lw_home, "ada", {"name": "Ada", "group_only_greetings": ["Hail, {{user}}.", "Ho!"]})
    _write(lw_home, "bo", {"name": "Bo", "first_message": "Just for one-to-one chats."})
    store = ChatStore.open(lw_home)
    scene = GroupScene(load_cast(lw_home, ["ada", "bo"]), _fmt(), engine, user="Wren", store=store)
    scene.greet()
    assert [(line.name, line.text) for line in scene.lines] == [("Ada", "Hail, Wren.")]
    assert scene.swipe_position() == (1, 2)
    scene.swipe(1)
    assert scene.lines[-1].text == "Ho!"
    assert scene.greet() == []  # only a new scene is greeted
    store.close()
