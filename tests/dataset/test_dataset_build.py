"""`loreweaver dataset build` on real chats in a real store, with the bundled model's tokenizer:
the files' JSON shapes are checked against the fine-tuning tools' documented schemas (written
out here, independently of `app.dataset.shapes`), and the persona is the app's own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from support import one_line_error, run_cli

from app.dataset.build import dedupe, split_keys
from app.dataset.examples import ChatExample, Turn
from app.home import Home
from app.memory.store import ChatStore
from app.prompts.messages import Role
from app.session_chat import store_new_chat
from app.sheets import library

# OpenAI chat fine-tuning / TRL conversational language modelling: {"messages": [...]}.
MESSAGES_SCHEMA = {
    "type": "object",
    "required": ["messages"],
    "additionalProperties": False,
    "properties": {
        "messages": {
            "type": "array",
            "minItems": 2,
            "items": {
                "type": "object",
                "required": ["role", "content"],
                "additionalProperties": False,
                "properties": {
                    "role": {"enum": ["system", "user", "assistant"]},
                    "content": {"type": "string"},
                },
            },
        }
    },
}
# ShareGPT as LLaMA-Factory (formatting: sharegpt, default tags) and axolotl read it.
SHAREGPT_SCHEMA = {
    "type": "object",
    "required": ["conversations"],
    "additionalProperties": False,
    "properties": {
        "conversations": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["from", "value"],
                "additionalProperties": False,
                "properties": {
                    "from": {"enum": ["system", "human", "gpt"]},
                    "value": {"type": "string"},
                },
            },
        }
    },
}
# TRL's standard language modelling / axolotl's completion format.
TEXT_SCHEMA = {
    "type": "object",
    "required": ["text"],
    "additionalProperties": False,
    "properties": {"text": {"type": "string", "minLength": 1}},
}


def _chat(home: Home, lines: list[tuple[str, str]], *, edit: int | None = None) -> int:
    """A stored chat with brenna: her greeting, then `lines`; `edit` replaces that line's text."""
    entry, sheet = library.load(home, "brenna")
    with ChatStore.open(home) as store:
        chat = store_new_chat(store, entry.id, sheet, user="Ada")
        ids = [store.add_message(chat.id, role, text).id for role, text in lines]
        if edit is not None:
            store.edit(ids[edit], lines[edit][1] + " (edited by the designer)")
        return chat.id


STORY = [
    ("user", "Can you mend my sword?"),
    ("assistant", "Aye, leave it on the anvil."),
    ("user", "How long will it take?"),
    ("assistant", "Two days, if the coal holds."),
]


def _read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _llama_factory_order(record: dict[str, Any]) -> None:
    """LLaMA-Factory's sharegpt converter: an optional system turn, then human at odd and gpt
    at even positions, an even count."""
    turns = [t["from"] for t in record["conversations"]]
    if turns and turns[0] == "system":
        turns = turns[1:]
    assert turns and len(turns) % 2 == 0
    assert all(t == ("human" if i % 2 == 0 else "gpt") for i, t in enumerate(turns))


@pytest.mark.parametrize("form", ["chatml-messages", "sharegpt", "text"])
def test_each_format_matches_its_tools_schema(lw_home: Home, tmp_path: Path, form: str) -> None:
    for n in range(4):
        _chat(lw_home, [(r, f"{t} ({n})") for r, t in STORY])
    out = tmp_path / "brenna.jsonl"
    result = run_cli("dataset", "build", "brenna", "-o", str(out), "--format", form)
    assert result.returncode == 0, result.stderr
    records = _read(out) + _read(tmp_path / "brenna.val.jsonl")
    assert len(records) == 4 and len(_read(out)) == 3  # 0.1 of 4 rounds to one validation line
    schema = {"chatml-messages": MESSAGES_SCHEMA, "sharegpt": SHAREGPT_SCHEMA}.get(
        form, TEXT_SCHEMA
    )
    for record in records:
        jsonschema.validate(record, schema)
    if form == "chatml-messages":
        roles = [m["role"] for m in records[0]["messages"]]
        assert roles == ["system", "assistant", "user", "assistant", "user", "assistant"]
    if form == "sharegpt":
        for record in records:
            _llama_factory_order(record)
        assert records[0]["conversations"][1] == {"from": "human", "value": ""}
    if form == "text":
        assert "<|im_start|>system" in records[0]["text"]  # the bundled model's ChatML
        assert records[0]["text"].rstrip().endswith("<|im_end|>")


def test_the_persona_is_the_one_the_prompt_command_sends(lw_home: Home, tmp_path: Path) -> None:
    chat_id = _chat(lw_home, STORY)
    out = tmp_path / "d.jsonl"
    (tmp_path / "d.val.jsonl").write_text("an older run's validation file\n")
    assert run_cli("dataset", "build", "brenna", "-o", str(out), "--split", "0").returncode == 0
    assert not (tmp_path / "d.val.jsonl").exists()  # no split now: the stale one is gone
    system = _read(out)[0]["messages"][0]["content"]
    prompt = run_cli("prompt", "brenna", "--chat", str(chat_id))
    assert prompt.returncode == 0, prompt.stderr
    assert system and f"<|im_start|>system\n{system}<|im_end|>" in prompt.stdout


def test_manifest_names_chats_versions_and_tokens(lw_home: Home, tmp_path: Path) -> None:
    edited = _chat(lw_home, STORY + [("user", "Thanks!"), ("assistant", "Off with you.")], edit=1)
    plain = _chat(lw_home, [("user", "Hello?"), ("assistant", "Busy. Come back later.")])
    _chat(lw_home, [])  # the greeting alone: nothing to learn from
    out = tmp_path / "d.jsonl"
    result = run_cli("dataset", "build", "brenna", "-o", str(out), "--only-edited")
    assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / "d.manifest.json").read_text())
    assert [e["chat_id"] for e in manifest["examples"]] == [edited]
    example = manifest["examples"][0]
    assert example["cut"] == "after the last edited reply"
    versions = [(m["role"], m["version"], m["edited"]) for m in example["messages"]]
    assert versions == [("assistant", 1, False), ("user", 1, False), ("assistant", 2, True)]
    assert all(m["tokens"] > 0 for m in example["messages"]) and example["tokens"] > 0
    assert {s["chat_id"] for s in manifest["skipped"]} >= {plain}
    (record,) = _read(out)
    assert record["messages"][-1]["content"].endswith("(edited by the designer)")
    assert manifest["totals"]["train"]["tokens"] == example["tokens"]


def _example(chat_id: int, texts: list[str]) -> ChatExample:
    roles: list[Role] = ["user", "assistant"] * len(texts)
    turns = [Turn(i, roles[i], t, 1, 1, 1) for i, t in enumerate(texts)]
    return ChatExample("c", chat_id, None, "U", "persona", turns)


def test_dedupe_drops_copies_and_prefixes_and_the_split_is_stable() -> None:
    long = _example(1, ["a", "b", "c", "d"])
    prefix = _example(2, ["a", "b"])  # a branch never continued
    copy = _example(3, ["a", "b", "c", "d"])
    other = _example(4, ["x", "y"])
    kept, dropped = dedupe([prefix, long, copy, other])
    assert [e.chat_id for e in kept] == [1, 4]
    assert {(d["chat_id"], d["same_as_chat"]) for d in dropped} == {(2, 1), (3, 1)}
    keys = [f"{n:03d}" for n in range(20)]
    assert split_keys(keys, 0.1) == split_keys(list(reversed(keys)), 0.1) == {"000", "001"}
    assert split_keys(keys[:1], 0.5) == set() and split_keys(keys[:2], 0.9) == {"000"}


def test_bad_input_is_one_line(lw_home: Home, tmp_path: Path) -> None:
    out = tmp_path / "d.jsonl"
    assert "nobody" in one_line_error(run_cli("dataset", "build", "nobody", "-o", str(out)))
    assert "no saved chats" in one_line_error(run_cli("dataset", "build", "brenna", "-o", str(out)))
    _chat(lw_home, STORY)
    missing = tmp_path / "no" / "such" / "dir" / "d.jsonl"
    line = one_line_error(run_cli("dataset", "build", "brenna", "-o", str(missing)))
    assert "cannot write" in line
    line = one_line_error(run_cli("dataset", "build", "brenna", "-o", str(out), "--split", "1"))
    assert "--split" in line
    assert not out.exists()


def test_a_broken_reply_ends_the_example_and_the_chosen_swipe_is_named(
    lw_home: Home, tmp_path: Path
) -> None:
    entry, sheet = library.load(lw_home, "brenna")
    with ChatStore.open(lw_home) as store:
        chat = store_new_chat(store, entry.id, sheet, user="Ada")
        store.add_message(chat.id, "user", "Forge me a blade.")
        first = store.add_message(chat.id, "assistant", "No.")
        store.add_message(chat.id, "assistant", "Stopped half", parent_id=first.parent_id)
        chosen = store.add_message(
            chat.id, "assistant", "Aye, I will.", parent_id=first.parent_id, status="cancelled"
        )
        store.select(chosen.id)
        store.add_message(chat.id, "user", "When?")
        store.add_message(chat.id, "assistant", "Tomorr", status="interrupted")
    out = tmp_path / "d.jsonl"
    result = run_cli("dataset", "build", "brenna", "-o", str(out), "--split", "0")
    assert result.returncode == 0, result.stderr
    (record,) = _read(out)
    assert [m["content"] for m in record["messages"][2:]] == ["Forge me a blade.", "Aye, I will."]
    example = json.loads((tmp_path / "d.manifest.json").read_text())["examples"][0]
    assert example["messages"][-1]["swipe"] == "3/3" and "interrupted" in example["cut"]


def test_line_breaking_characters_stay_inside_their_json_line(
    lw_home: Home, tmp_path: Path
) -> None:
    odd = 'a "quote"\nnew line\u2028separator\u2029paragraph\x85next\u202eright-to-left\x1cfs'
    _chat(lw_home, [("user", odd), ("assistant", odd[::-1])])
    out = tmp_path / "d.jsonl"
    user_line = {
        "chatml-messages": lambda r: r["messages"][2]["content"],  # system, greeting, user
        "sharegpt": lambda r: r["conversations"][3]["value"],  # system, "", greeting, human
        "text": lambda r: odd if r["text"].count(odd) == 1 else r["text"],
    }
    for form, line_of in user_line.items():
        result = run_cli("dataset", "build", "brenna", "-o", str(out), "--format", form)
        assert result.returncode == 0, result.stderr
        (record,) = _read(out)  # splitlines() splits on all of those: one line still
        assert line_of(record) == odd
