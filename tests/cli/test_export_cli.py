"""`loreweaver export` on a chat the real model wrote (a regenerated reply is a swipe), and its
one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from dialogue_readers import expected, read_yarn
from support import one_line_error, run_cli

from app.export import FORMATS, load_dialogue
from app.export.canonical import schema
from app.export.graph import speaker_id
from app.home import Home
from app.memory.store import ChatStore


def test_export_of_a_real_chat_keeps_swipes_seeds_and_settings(
    lw_home: Home, tmp_path: Path
) -> None:
    chat = run_cli("chat", "brenna", "--seed", "5", stdin="Hello there.\n/regen\nAnd swords?\n")
    assert chat.returncode == 0, chat.stderr
    outputs = {}
    for form, (extension, _) in FORMATS.items():
        target = tmp_path / "out" / f"chat.{extension}"
        done = run_cli("export", "1", "--format", form, "-o", str(target))
        assert done.returncode == 0 and str(target) in done.stdout, done.stderr
        outputs[form] = target.read_text(encoding="utf-8")
    assert run_cli("export", "1", "--format", "yarn").stdout == outputs["yarn"]
    data = json.loads(outputs["json"])
    jsonschema.validate(data, schema())
    regenerated = [line for line in data["lines"] if line["role"] == "assistant" and
                   len(line["variants"]) == 2 and line["variants"][0]["meta"]]  # fmt: skip
    assert len(regenerated) == 1
    for variant in regenerated[0]["variants"]:
        assert variant["text"].strip()
        assert {"seed", "model", "template", "sampling"} <= set(variant["meta"])
    with ChatStore.open(lw_home) as store:
        dialogue = load_dialogue(store, 1)
    assert read_yarn(outputs["yarn"]) == expected(dialogue, speaker=speaker_id)


def test_bad_input_is_one_line(lw_home: Home, tmp_path: Path) -> None:
    assert "no chat with id 7" in one_line_error(run_cli("export", "7", "--format", "ink"))
    assert "CHAT_ID" in one_line_error(run_cli("export", "seven", "--format", "ink"))
    assert "--format" in one_line_error(run_cli("export", "1", "--format", "docx"))
    assert "--format" in one_line_error(run_cli("export", "1"))
    (tmp_path / "taken").mkdir()
    with ChatStore.open(lw_home) as store:
        store.add_message(store.create_chat("brenna").id, "assistant", "Hi.")
    error = one_line_error(
        run_cli("export", "1", "--format", "json", "-o", str(tmp_path / "taken"))
    )
    assert str(tmp_path / "taken") in error and "cannot write" in error
