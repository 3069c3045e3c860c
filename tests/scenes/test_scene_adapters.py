"""A scene run applies each speaker's LoRA adapters (a tiny one the test writes): the NPC with
one speaks otherwise than without it after the same lines, the other NPC's line is untouched."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from tinygguf import write_lora

from app.home import Home
from app.models import bundled_model_path
from app.scenes import run_scene
from app.settings import Settings


def _lines(home: Home, scene: Path, out: Path) -> list[str]:
    done = run_scene(home, Settings(n_threads=1), scene, out, forms=["json"])
    data = json.loads(done.files[0].read_text("utf-8"))
    return [line["variants"][0]["text"] for line in data["lines"][1:]]


def test_a_scene_run_speaks_with_each_speakers_adapters(lw_home: Home, tmp_path: Path) -> None:
    write_lora(lw_home.models / "voice.gguf", bundled_model_path(), std=0.1, seed=1)  # type: ignore[arg-type]
    for ref in ("ida", "ole"):
        sheet = {"name": ref.title(), "description": f"{ref.title()} runs the ferry."}
        (lw_home.characters / f"{ref}.yaml").write_text(yaml.safe_dump(sheet), encoding="utf-8")
    scene = tmp_path / "ferry.yaml"
    scene.write_text(yaml.safe_dump({
        "title": "Ferry", "cast": ["ida", "ole"], "seed": 4, "sampling": {"max_tokens": 16},
        "beats": [{"player": "When does the ferry leave?"}, {"npc": "ole"}, {"npc": "ida"}],
    }), encoding="utf-8")  # fmt: skip
    base = _lines(lw_home, scene, tmp_path / "base")
    ida = lw_home.characters / "ida.yaml"
    ida.write_text(ida.read_text("utf-8") + "adapters: [voice.gguf]\n", encoding="utf-8")
    voiced = _lines(lw_home, scene, tmp_path / "voiced")
    assert voiced[0] == base[0] and voiced[1] != base[1], (base, voiced)  # ole's, then ida's
