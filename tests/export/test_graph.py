"""The dialogue graph read from a real store: swipes as variants, forks as children, stable ids,
and the canonical JSON against its published schema."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
from dialogue_support import SEED_META, sample_chat

from app.export import FORMATS, export_chat, load_dialogue
from app.export.canonical import schema
from app.home import Home
from app.memory.store import ChatStore


def test_swipes_are_variants_and_forks_are_children(store: ChatStore) -> None:
    ids = sample_chat(store)
    dialogue = load_dialogue(store, ids["chat"])
    (greet,) = dialogue.roots
    (ask,) = greet.children
    (reply,) = ask.children
    assert [v.text for v in reply.variants] == ["Coin first.", "What kind?", "Sit down."]
    assert [v.meta["seed"] for v in reply.variants] == [1, 2, 3]
    assert [c.text for c in reply.children] == ["Double pay.", "Ask about the bandits."]
    assert all(c.is_player and c.speaker == "Ash" for c in reply.children)
    deal = reply.children[0].children[0]
    assert (deal.variants[0].emotion, deal.variants[0].action) == ("pleased", "nods")
    no = reply.children[1].children[0]  # an NPC structured reply: {"npc": {emotion, action}}
    assert (no.variants[0].emotion, no.variants[0].action) == ("wary", "cross_arms")
    assert len({line.id for line in dialogue.lines()}) == len(dialogue.lines()) == 7


def test_json_keeps_every_variant_seed_and_setting_and_fits_its_schema(store: ChatStore) -> None:
    ids = sample_chat(store)
    data = json.loads(export_chat(store, ids["chat"], "json"))
    jsonschema.Draft202012Validator.check_schema(schema())
    jsonschema.validate(data, schema())
    variants = [v for line in data["lines"] for v in line["variants"]]
    assert sorted(v["meta"]["seed"] for v in variants if "seed" in v["meta"]) == [1, 2, 3, 7]
    assert all(v["meta"]["model"] == SEED_META["model"] for v in variants if "seed" in v["meta"])
    assert len(variants) == len(ids) - 1  # every message of the tree, store row ids not exported
    by_id = {line["id"]: line for line in data["lines"]}
    for line in data["lines"]:
        assert all(by_id[child]["parent"] == line["id"] for child in line["children"])


def test_schema_rejects_what_it_should(store: ChatStore) -> None:
    data = json.loads(export_chat(store, sample_chat(store)["chat"], "json"))
    data["lines"][0]["variants"] = []
    errors = list(jsonschema.Draft202012Validator(schema()).iter_errors(data))
    assert errors and "variants" in errors[0].json_path


def test_same_tree_gives_byte_identical_files(store: ChatStore, tmp_path: Path) -> None:
    ids = sample_chat(store)
    first = {form: export_chat(store, ids["chat"], form) for form in FORMATS}
    # where the user is in the tree, and other chats, are not part of the tree
    store.select(ids["swipe3"])
    sample_chat(store)
    assert {form: export_chat(store, ids["chat"], form) for form in FORMATS} == first
    # the same tree built in another home (same chat id) exports to the same bytes
    with ChatStore.open(Home(tmp_path)) as other:
        chat = sample_chat(other)["chat"]
        assert chat == ids["chat"]
        assert {form: export_chat(other, chat, form) for form in FORMATS} == first


def test_regenerating_a_line_keeps_every_other_id(store: ChatStore) -> None:
    ids = sample_chat(store)
    chat = ids["chat"]

    def ids_by_text() -> dict[str, str]:
        data = json.loads(export_chat(store, chat, "json"))
        return {v["text"]: v["id"] for line in data["lines"] for v in line["variants"]}

    before = ids_by_text()
    # regenerate the deal line (a new swipe) and fork the greeting with a new player line
    deal = store.get_message(ids["deal"])
    regen = store.add_message(
        chat, "assistant", "Tomorrow.", parent_id=deal.parent_id, name="Brenna"
    )
    fork = store.add_message(chat, "user", "Goodbye.", parent_id=ids["greet"])
    after = ids_by_text()
    assert {text: after[text] for text in before} == before
    assert after[regen.content] == f"{before[deal.content]}_1"
    assert after[fork.content] not in before.values()


def test_ids_survive_a_chat_file_round_trip(store: ChatStore) -> None:
    from app.memory.sillytavern import export_chat as to_jsonl
    from app.memory.sillytavern import import_chat

    ids = sample_chat(store)
    before = store.list_chats()[0]
    first = json.loads(export_chat(store, ids["chat"], "json"))
    assert first["chat"]["id"] == str(ids["chat"])
    assert store.list_chats()[0].updated_at == before.updated_at  # an export is not a visit
    copy_file = store.path.parent / "copy.jsonl"
    copy_file.write_text(to_jsonl(store, ids["chat"]), encoding="utf-8")
    copy = import_chat(store, copy_file)
    assert copy.id != ids["chat"]
    again = json.loads(export_chat(store, copy.id, "json"))
    # the file holds the active path only: its lines keep the namespace and the root its id
    assert again["chat"]["id"] == first["chat"]["id"]
    assert again["roots"] == first["roots"]


def test_keyed_lines_keep_their_ids_when_a_sibling_is_deleted(store: ChatStore) -> None:
    chat = store.create_chat("brenna", meta={"dialogue_id": "forge"})
    root = store.add_message(chat.id, "assistant", "Well?", name="Brenna", parent_id=None)
    fork = [store.add_message(chat.id, "user", text, parent_id=root.id, meta={"line_key": key})
            for text, key in (("Buy.", "c0"), ("Haggle.", "c1"), ("Leave.", "c2"))]  # fmt: skip

    def ids() -> dict[str, str]:
        return {ln.text: ln.id for ln in load_dialogue(store, chat.id).lines()}

    before = ids()
    store.delete(fork[0].id)
    after = ids()
    assert "Buy." not in after
    assert {t: after[t] for t in ("Well?", "Haggle.", "Leave.")} == {
        t: before[t] for t in ("Well?", "Haggle.", "Leave.")
    }
    assert all(re.fullmatch(r"L[0-9a-f]{16}", i) for i in after.values())
