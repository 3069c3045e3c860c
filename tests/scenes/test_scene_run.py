"""Scene scripts run by the real CLI on the bundled model: the two example scenes export to
every format (each read back by its own parser), runs are byte-for-byte reproducible, a changed
seed changes lines but not ids, an interrupted run resumes to the same files, and a stored run
is an ordinary chat tree. The runs are made once per module and shared by the tests."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from dialogue_support import npm_modules
from npc.npc_sheet import npc_data
from scene_support import SCENES, check_with_parsers, cli, files, make_home

from app.export import FORMATS, export_chat, load_dialogue
from app.home import Home
from app.memory.store import ChatStore
from app.scenes import parse_formats, run_scene
from app.scenes.run import LOCAL_PARALLEL_NOTE
from app.settings import load_settings

FORGE = SCENES / "forge_haggle.yaml"
TAVERN = SCENES / "tavern_rumours.yaml"


def _chat_id(stdout: str) -> int:
    found = re.match(r"chat (\d+): \d+ lines; wrote ", stdout)
    assert found, stdout
    return int(found.group(1))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, bundled_verdict: Any) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("runs")
    home = make_home(root / "home", bundled_verdict)
    reseeded = root / "forge_reseeded.yaml"
    data = yaml.safe_load(FORGE.read_text("utf-8"))
    reseeded.write_text(yaml.safe_dump({**data, "seed": data["seed"] + 1}), encoding="utf-8")
    out: dict[str, Any] = {"home": home, "root": root}
    for name, scene in (("a", FORGE), ("b", FORGE), ("seed", reseeded)):
        out[name] = _run(home, scene, root / name)
    return out


def _run(home: Home, scene: Path, folder: Path) -> tuple[int, Path]:
    done = cli(home, "run", str(scene), "-o", str(folder))
    assert done.returncode == 0, done.stderr
    return _chat_id(done.stdout), folder


def test_example_scenes_export_every_format_their_parsers_read(runs: dict[str, Any]) -> None:
    tools = npm_modules()
    runs = {**runs, "tavern": _run(runs["home"], TAVERN, runs["root"] / "tavern")}
    with ChatStore.open(runs["home"]) as store:
        for key, name in (("a", "forge_haggle"), ("tavern", "tavern_rumours")):
            chat, folder = runs[key]
            assert sorted(files(folder)) == sorted(f"{name}.{ext}" for ext, _ in FORMATS.values())
            dialogue = load_dialogue(store, chat)
            check_with_parsers(dialogue, folder, name, tools)
    forks = [line for line in dialogue.lines() if len(line.children) > 1]
    assert [len(line.children) for line in forks] == [3]  # the tavern's fork
    speakers = {line.speaker for line in dialogue.lines() if not line.is_player}
    assert speakers == {"Old Tam", "Sergeant Hobb", "Kestrel Vane"}


def test_same_seed_gives_identical_bytes(runs: dict[str, Any]) -> None:
    (first, folder_a), (second, folder_b) = runs["a"], runs["b"]
    assert first != second  # two stored runs, one export
    assert files(folder_a) == files(folder_b)


def _shape(folder: Path) -> tuple[list[Any], list[str]]:
    data = json.loads((folder / "forge_haggle.json").read_text("utf-8"))
    shape = [(line["id"], line["parent"], [v["id"] for v in line["variants"]])
             for line in data["lines"]]  # fmt: skip
    texts = [v["text"] for line in data["lines"] if line["role"] == "assistant"
             for v in line["variants"] if not v["meta"]["scene"].get("fixed")]  # fmt: skip
    return shape, texts


def test_changed_seed_changes_lines_not_ids(runs: dict[str, Any]) -> None:
    shape_a, texts_a = _shape(runs["a"][1])
    shape_b, texts_b = _shape(runs["seed"][1])
    assert shape_a == shape_b
    assert len(texts_a) == len(texts_b) == 5
    assert sum(a != b for a, b in zip(texts_a, texts_b, strict=True)) >= 3


def test_a_stored_run_is_a_chat_tree_that_exports_the_same(runs: dict[str, Any]) -> None:
    home, (chat, folder) = runs["home"], runs["a"]
    listed = cli(home, "chats", "list")
    assert listed.returncode == 0 and "Haggling at the forge" in listed.stdout
    again = cli(home, "export", str(chat), "--format", "yarn")
    assert again.stdout == (folder / "forge_haggle.yarn").read_text("utf-8")
    with ChatStore.open(home) as store:
        for form, (ext, _) in FORMATS.items():
            assert export_chat(store, chat, form) == (folder / f"forge_haggle.{ext}").read_text()
        path = store.active_path(chat)
        assert path[0].content == "How much for a plain sword?"
        assert path[-1].content == "Cheap steel breaks cheap. Mind the pass."


def test_an_interrupted_run_resumes_to_the_same_files(
    runs: dict[str, Any], lw_home: Home, tmp_path: Path
) -> None:
    settings = load_settings(lw_home)
    seen = 0

    def stop_after_four() -> None:
        nonlocal seen
        seen += 1
        if seen == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_scene(lw_home, settings, FORGE, tmp_path / "out", forms=parse_formats("all"),
                  on_line=stop_after_four)  # fmt: skip
    with ChatStore.open(lw_home) as store:
        (partial,) = store.list_chats()
        kept = len(store.active_path(partial.id))
    assert 0 < kept < 8
    notes: list[str] = []
    result = run_scene(lw_home, settings, FORGE, tmp_path / "out", forms=parse_formats("all"),
                       resume=True, parallel=3, note=notes.append)  # fmt: skip
    assert result.chat_id == partial.id and notes == [LOCAL_PARALLEL_NOTE]
    assert files(tmp_path / "out") == files(runs["a"][1])


def test_a_line_that_breaks_its_rules_is_flagged_after_its_retries(
    lw_home: Home, tmp_path: Path
) -> None:
    scene = tmp_path / "rules.yaml"
    scene.write_text(yaml.safe_dump({
        "title": "Rules", "cast": ["brenna"], "seed": 3, "retries": 1,
        "sampling": {"max_tokens": 30},
        "beats": [{"player": "Hello."},
                  {"npc": "brenna", "rules": {"max_chars": 12, "must_mention": ["zyzzyva"]}}],
    }), encoding="utf-8")  # fmt: skip
    done = cli(lw_home, "run", str(scene), "-o", str(tmp_path / "out"), "--format", "json")
    assert done.returncode == 0, done.stderr
    assert "1 line(s) break a rule after every attempt" in done.stderr
    data = json.loads((tmp_path / "out" / "rules.json").read_text("utf-8"))
    (variant,) = data["lines"][1]["variants"]
    note = variant["meta"]["scene"]
    assert note["attempts"] == 2 and "does not mention 'zyzzyva'" in note["flags"]
    assert 0 < len(variant["text"]) <= 12


def test_a_structured_reply_sets_the_state_its_branch_reads(lw_home: Home, tmp_path: Path) -> None:
    (lw_home.characters / "gerd.yaml").write_text(yaml.safe_dump(npc_data()), encoding="utf-8")
    scene = tmp_path / "gate.yaml"
    scene.write_text(yaml.safe_dump({
        "title": "Gate", "cast": ["gerd"], "seed": 5, "sampling": {"max_tokens": 16},
        "beats": [{"player": "Open the gate, please."}, {"npc": "gerd"},
                  {"say": "Pass.", "speaker": "gerd", "when": "gerd.gate_open"},
                  {"say": "Closed.", "speaker": "gerd", "when": "not gerd.gate_open"}],
    }), encoding="utf-8")  # fmt: skip
    done = cli(lw_home, "run", str(scene), "-o", str(tmp_path / "out"), "--format", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads((tmp_path / "out" / "gate.json").read_text("utf-8"))
    reply = data["lines"][1]["variants"][0]
    assert reply["emotion"] and reply["meta"]["npc"]["emotion"] == reply["emotion"]
    opened = reply["meta"]["npc"]["meta"].get("state", {}).get("gate_open", False)
    assert [v["text"] for v in data["lines"][2]["variants"]] == ["Pass." if opened else "Closed."]
