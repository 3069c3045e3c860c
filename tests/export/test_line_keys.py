"""Line ids of ordinary chats survive what a user does between exports: deleting a swipe or a
branch, adding swipes and branches, editing, regenerating, continuing, and a chat file round trip.
A chat exported before line keys were kept keeps the ids it had (computed here by the old rule)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from dialogue_support import sample_chat
from support import run_cli

from app.export import FORMATS, export_chat, load_dialogue
from app.export.keys import STAMP
from app.memory.store import ChatStore

GOLDEN = Path(__file__).parent / "golden"


def old_rule_ids(data: dict[str, Any]) -> dict[str, str]:
    """Variant id → text by the rule before keys were kept: a line's key was its index among
    its parent line's children (in creation order), a variant's suffix its index."""
    by_id = {line["id"]: line for line in data["lines"]}
    namespace = data["chat"]["id"]
    out: dict[str, str] = {}
    stack = [("", index, ident) for index, ident in enumerate(data["roots"])]
    while stack:
        parent, index, ident = stack.pop()
        digest = hashlib.sha256(f"{namespace}:{parent}:{index}".encode()).hexdigest()
        old = f"L{namespace}_{digest[:12]}"
        line = by_id[ident]
        for number, variant in enumerate(line["variants"]):
            out[old if number == 0 else f"{old}_{number}"] = variant["text"]
        stack.extend((old, at, child) for at, child in enumerate(line["children"]))
    return out


def ids(store: ChatStore, chat: int) -> dict[str, str]:
    """text → variant id, from a real export (which keeps the keys)."""
    data = json.loads(export_chat(store, chat, "json"))
    return {v["text"]: v["id"] for line in data["lines"] for v in line["variants"]}


def same_for(after: dict[str, str], before: dict[str, str]) -> dict[str, str]:
    return {text: after[text] for text in before if text in after}


def metas(store: ChatStore, chat: int) -> list[tuple[int, str]]:
    with store.reading() as conn:
        rows = conn.execute("SELECT id, meta FROM messages WHERE chat_id = ? ORDER BY id", (chat,))
        return [(int(row[0]), str(row[1])) for row in rows] + [
            (0, str(conn.execute("SELECT meta FROM chats WHERE id = ?", (chat,)).fetchone()[0]))
        ]


def test_an_unchanged_chat_exports_the_bytes_it_did_before(store: ChatStore) -> None:
    """The golden files predate kept keys; the first export (which stamps) and the next (which
    writes nothing) give those bytes, the JSON with the namespace stamped as it always was."""
    chat = sample_chat(store)["chat"]
    for round_ in range(2):
        before = metas(store, chat)
        for form, (extension, _) in FORMATS.items():
            text = export_chat(store, chat, form)
            golden = (GOLDEN / f"sample.{extension}").read_text(encoding="utf-8")
            if form == "json":
                data = json.loads(golden)
                data["chat"]["meta"] = {"dialogue_id": str(chat)}
                golden = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
            assert text == golden, form
        if round_:
            assert metas(store, chat) == before  # a stamped, unchanged chat: nothing written
    stamped = store.get_chat(chat).meta
    assert STAMP in stamped and all(STAMP in json.loads(meta) for _, meta in metas(store, chat))


def test_a_chat_exported_before_keeps_its_old_ids_after_deletes(store: ChatStore) -> None:
    made = sample_chat(store)
    chat = made["chat"]
    store.update_chat(chat, meta={"dialogue_id": str(chat)})  # as the old first export left it
    old = old_rule_ids(json.loads(FORMATS["json"][1](load_dialogue(store, chat))))
    assert len(old) == 9
    assert {v: t for t, v in ids(store, chat).items()} == old
    store.delete(made["swipe2"])  # an earlier swipe
    store.delete(made["pay"])  # an earlier branch (and the reply below it)
    after = ids(store, chat)
    gone = {"What kind?", "Double pay.", "Sundown, then."}
    assert set(after) == set(old.values()) - gone
    assert all(old[after[text]] == text for text in after)


def test_deleting_swipes_and_branches_moves_no_other_id(store: ChatStore) -> None:
    made = sample_chat(store)
    chat = made["chat"]
    # a group chat's second speaker under the same player line, and a branch under swipe 3
    store.add_message(chat, "assistant", "Mind the bellows.", parent_id=made["ask"], name="Tam")
    store.add_message(chat, "user", "Leave.", parent_id=made["swipe3"])
    store.add_message(chat, "assistant", "Fine.", name="Brenna")
    before = ids(store, chat)
    store.delete(made["swipe1"])  # the first swipe, and both branches below it
    after = ids(store, chat)
    below = {"Double pay.", "Sundown, then.", "Ask about the bandits.", "Not in my shop."}
    assert set(after) == set(before) - below - {"Coin first."}
    assert after == {text: before[text] for text in after}
    store.delete(made["swipe2"])
    store.delete(made["swipe3"])  # Brenna's whole reply: Tam's line was its sibling
    last = ids(store, chat)
    assert set(last) == {"Back again?", "I need a blade.", "Mind the bellows."}
    assert last == {text: before[text] for text in last}


def test_regenerate_then_delete_the_old_swipe_keeps_the_line(store: ChatStore) -> None:
    made = sample_chat(store)
    chat = made["chat"]
    before = ids(store, chat)
    deal = store.get_message(made["deal"])
    regen = store.add_message(
        chat, "assistant", "Tomorrow.", parent_id=deal.parent_id, name="Brenna"
    )
    store.delete(deal.id)  # not exported in between: the reply's place keeps its key
    after = ids(store, chat)
    assert after["Tomorrow."] == f"{before['Sundown, then.']}_1"
    assert same_for(after, before) == {t: before[t] for t in after if t in before}
    again = store.add_message(
        chat, "assistant", "At dawn.", parent_id=regen.parent_id, name="Brenna"
    )
    assert ids(store, chat)[again.content] == f"{before['Sundown, then.']}_2"  # never _0 again


def test_edit_continue_and_new_branches_keep_ids_and_never_reuse_one(store: ChatStore) -> None:
    made = sample_chat(store)
    chat = made["chat"]
    before = ids(store, chat)
    store.edit(made["swipe1"], "Coin first, always.")
    store.update_reply(made["no"], "Not in my shop. Out.", status="complete")  # continued
    store.add_message(chat, "user", "Please?", parent_id=made["no"])
    after = ids(store, chat)
    assert after["Coin first, always."] == before["Coin first."]
    assert after["Not in my shop. Out."] == before["Not in my shop."]
    assert same_for(after, before) == {t: before[t] for t in before if t in after}
    # a branch deleted and another added in its place: the new one gets a new id
    store.delete(made["bandits"])
    new = store.add_message(chat, "user", "Ask about the road.", parent_id=made["swipe1"])
    final = ids(store, chat)
    assert final[new.content] not in set(before.values()) | set(after.values())
    assert final["Double pay."] == before["Double pay."]


def test_ids_survive_the_chat_file_round_trip_on_the_cli(store: ChatStore, tmp_path: Path) -> None:
    """Our chat file carries each message's metadata, so the keys travel: the copy's lines,
    exported, have the original's ids, even one added after the last dialogue export (`chats
    export` keeps the keys first). A SillyTavern file from elsewhere has no keys: its copy's
    ids are made at its own first export."""
    made = sample_chat(store)
    chat = made["chat"]
    store.select(made["no"])  # the file holds the active path (the 2nd branch) and swipes
    first = ids(store, chat)
    store.add_message(chat, "user", "One more thing.", parent_id=made["no"])
    file = tmp_path / "chat.jsonl"
    for args in (("chats", "export", str(chat), "-o", str(file)), ("chats", "import", str(file))):
        assert run_cli(*args).returncode == 0
    copy = max(c.id for c in store.list_chats())
    exported = run_cli("export", str(copy), "--format", "csv")
    assert exported.returncode == 0, exported.stderr
    rows = [row.split(",")[1] for row in exported.stdout.splitlines()[1:]]
    on_path = ("Back again?", "I need a blade.", "Coin first.", "What kind?", "Sit down.")
    kept = (*on_path, "Ask about the bandits.", "Not in my shop.")  # the branch: index 1, now 0
    original = ids(store, chat)
    assert {text: original[text] for text in kept} == {text: first[text] for text in kept}
    assert rows == [f"line:{original[text]}" for text in (*kept, "One more thing.")]


def test_a_branch_keeps_the_ids_of_the_path_it_copies(store: ChatStore) -> None:
    made = sample_chat(store)
    chat = made["chat"]
    first = ids(store, chat)
    copy = store.branch(made["no"])  # through the second player branch and the first swipe
    copied = ids(store, copy.id)
    path = ("Back again?", "I need a blade.", "Coin first.", "Ask about the bandits.")
    assert {text: copied[text] for text in path} == {text: first[text] for text in path}
    added = store.add_message(copy.id, "user", "And the road?", parent_id=copy.active_leaf_id)
    again = store.add_message(chat, "user", "And the road?", parent_id=made["no"])
    assert added.id != again.id
    assert ids(store, copy.id)["And the road?"] != ids(store, chat)["And the road?"]
