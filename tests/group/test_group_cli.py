"""`loreweaver chat A B C` as a user runs it: real processes, the real model."""

from __future__ import annotations

import pytest
from support import one_line_error, run_cli

from app.home import Home
from app.memory.store import ChatStore


def test_several_ids_play_a_scene(lw_home: Home) -> None:
    result = run_cli(
        "chat", "brenna", "old_tam", "kestrel",
        "--say", "Kestrel, what did you see on the road?",
        "--talk", "2", "--seed", "4", "--max-tokens", "24",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Kestrel Vane:")
    store = ChatStore.open(lw_home)
    [chat] = store.list_chats()
    assert chat.character_id == "group:brenna+old_tam+kestrel"
    assert store.active_path(chat.id)[0].content == "Kestrel, what did you see on the road?"
    store.close()


@pytest.mark.parametrize(
    ("cast", "named"),
    [(["brenna", "nobody"], "nobody"), (["brenna", "kestrel", "brenna"], "brenna")],
)
def test_a_bad_cast_is_one_line_and_stores_nothing(lw_home: Home, cast, named) -> None:  # type: ignore[no-untyped-def]
    line = one_line_error(run_cli("chat", *cast, "--say", "hello"))
    assert named in line
    store = ChatStore.open(lw_home)
    assert store.list_chats() == []
    store.close()


def test_chats_export_and_import_a_scene_as_a_group_chat(lw_home: Home, tmp_path) -> None:  # type: ignore[no-untyped-def]
    played = run_cli(
        "chat", "brenna", "old_tam", "--say", "Tam, a drink?", "--seed", "2", "--max-tokens", "12"
    )
    assert played.returncode == 0, played.stderr
    target = tmp_path / "scene.jsonl"
    exported = run_cli("chats", "export", "1", "--output", str(target))
    assert exported.returncode == 0, exported.stderr
    assert '"character_name": "unused"' in target.read_text(encoding="utf-8")
    imported = run_cli("chats", "import", str(target))
    assert imported.returncode == 0, imported.stderr
    assert "group:brenna+old_tam" in imported.stdout
