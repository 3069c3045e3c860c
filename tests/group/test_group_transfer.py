"""Group scenes to and from SillyTavern group-chat JSONL (real files, real store)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.errors import LoreweaverError
from app.group.scene import GROUP_META
from app.group.transfer import export_scene, import_scene
from app.home import Home
from app.memory.store import ChatStore


def _scene_chat(store: ChatStore) -> int:
    chat = store.create_chat(
        "group:mira+oskar", user_name="Wren", meta={GROUP_META: {"cast": ["mira", "oskar"]}}
    )
    store.add_message(chat.id, "user", "Evening, both.", name="Wren")
    store.add_message(chat.id, "assistant", "Evening.", name="Mira", meta={"speaker": "mira"})
    store.add_message(chat.id, "assistant", "Hm.", name="Oskar", meta={"speaker": "oskar"})
    return chat.id


def test_export_writes_each_speaker_and_imports_back(
    lw_home: Home, cast_ids: list[str], tmp_path: Path
) -> None:
    store = ChatStore.open(lw_home)
    text = export_scene(store, _scene_chat(store))
    rows = [json.loads(line) for line in text.splitlines()]
    assert rows[0]["character_name"] == "unused"
    assert [(r["name"], r["is_user"]) for r in rows[1:]] == [
        ("Wren", True), ("Mira", False), ("Oskar", False)
    ]  # fmt: skip
    assert rows[2]["original_avatar"] == "mira.png"
    path = tmp_path / "scene.jsonl"
    path.write_text(text, encoding="utf-8")
    chat = import_scene(lw_home, store, path)
    assert chat.character_id == "group:mira+oskar"
    assert [m.name for m in store.active_path(chat.id)] == ["Wren", "Mira", "Oskar"]
    store.close()


def test_a_sillytavern_file_finds_its_cast_by_card(
    lw_home: Home, cast_ids: list[str], tmp_path: Path
) -> None:
    lines = [
        {"user_name": "unused", "character_name": "unused", "chat_metadata": {}},
        {"name": "You", "is_user": True, "mes": "Hello?", "send_date": "2024-01-01T00:00:00Z"},
        {"name": "Talia", "is_user": False, "mes": "Yes.", "original_avatar": "talia.png"},
        {"name": "Oskar", "is_user": False, "mes": "No.", "original_avatar": "oskar.png"},
    ]
    path = tmp_path / "st.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    store = ChatStore.open(lw_home)
    chat = import_scene(lw_home, store, path)
    assert chat.meta[GROUP_META]["cast"] == ["talia", "oskar"]
    store.close()


def test_a_file_naming_an_unknown_character_stores_nothing(
    lw_home: Home, cast_ids: list[str], tmp_path: Path
) -> None:
    lines = [
        {"user_name": "unused", "character_name": "unused", "chat_metadata": {}},
        {"name": "Talia", "is_user": False, "mes": "Yes.", "original_avatar": "talia.png"},
        {"name": "Zed", "is_user": False, "mes": "No.", "original_avatar": "zed.png"},
    ]
    path = tmp_path / "st.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    store = ChatStore.open(lw_home)
    with pytest.raises(LoreweaverError, match="zed"):
        import_scene(lw_home, store, path)
    assert store.list_chats() == []
    store.close()
