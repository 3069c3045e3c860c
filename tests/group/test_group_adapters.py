"""A group scene where one NPC speaks with a LoRA adapter (a tiny one the test writes): each
speaker generates under its own set on the one loaded model, as it would alone, and its KV
line stays valid across switches, push-outs and a resume."""

from __future__ import annotations

from pathlib import Path

from group_turns import SLACK, kv_scene, turn
from tinygguf import write_lora

from app.engine.base import Sampling
from app.engine.llamacpp import LlamaEngine
from app.group import GroupScene, give_adapters, load_cast
from app.home import Home
from app.memory.store import ChatStore
from app.models import bundled_model_path, read_model_info
from app.settings import Settings

SAMPLING = Sampling(temperature=0.8, seed=7, max_tokens=12)


def _scene(home: Home, engine, store: ChatStore, **how) -> GroupScene:  # type: ignore[no-untyped-def]
    info = read_model_info(bundled_model_path(), "bundled")  # type: ignore[arg-type]
    cast = load_cast(home, ["mira", "oskar"])
    give_adapters(cast, info, Settings(), home)
    return kv_scene(home, cast, engine, store, **how)


def _alone(engine, adapters, prompt: str, stops: list[str]) -> str:  # type: ignore[no-untyped-def]
    """The reply to `prompt` under `adapters`, from an empty cache: a one-to-one chat's."""
    engine.use_adapters(adapters)
    engine.reset_cache()
    return "".join(engine.generate(prompt, SAMPLING, stop=stops))


def test_each_speaker_speaks_with_its_own_adapters_and_keeps_its_kv_line(
    lw_home: Home,
    cast_ids: list[str],
    engine: LlamaEngine,
) -> None:
    write_lora(lw_home.models / "voice.gguf", bundled_model_path(), std=0.1, seed=1)  # type: ignore[arg-type]
    mira = lw_home.characters / "mira.yaml"
    mira.write_text(mira.read_text() + "adapters: [voice.gguf]\n", encoding="utf-8")
    engine.use_adapters([])
    engine.reset_cache()
    store = ChatStore.open(lw_home)
    scene = _scene(lw_home, engine, store)
    voice = scene.member("mira").adapters
    assert [a.path.name for a in voice] == ["voice.gguf"] and not scene.member("oskar").adapters
    scene.say("Tell me about the well.")
    first: dict[str, tuple[str, str]] = {}  # each speaker's first prompt and raw reply
    last: dict[str, list[int]] = {}
    for _ in range(2):
        speaker = scene.next_speaker()
        reply = scene.reply(speaker, SAMPLING)
        reply.finish()
        first[speaker.id] = (scene.prompts[speaker.id], reply.generation.text)
        last[speaker.id] = engine.cached_tokens()
    figures = [turn(scene, engine, last, SAMPLING) for _ in range(4)]  # back and forth
    assert all(new > 0 and evaluated <= new + SLACK for evaluated, new in figures), figures
    scene.close()  # each line saved under its own speaker's set
    assert len(list(Path(lw_home.root / "kv-cache").iterdir())) == 2

    engine.use_adapters([])
    engine.reset_cache()  # as a new process would start
    resumed = _scene(lw_home, engine, store, held_lines=0)  # every switch pushes a line out
    resumed.chat = scene.chat
    resumed.reload()
    resumed.say("And the gold?")
    figures = [turn(resumed, engine, last, SAMPLING) for _ in range(4)]
    assert all(evaluated <= new + SLACK for evaluated, new in figures), figures
    assert engine.adapters == resumed.adapters_of(resumed.speakers.current or "")
    store.close()

    stops = scene.stops
    prompt, said = first["mira"]
    assert said == _alone(engine, voice, prompt, stops)  # what mira says alone, same seed
    assert said != _alone(engine, (), prompt, stops)  # and not what the base model says
    prompt, said = first["oskar"]
    assert said == _alone(engine, (), prompt, stops)
    engine.use_adapters([])
