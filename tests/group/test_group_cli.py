"""`loreweaver chat A B C` as a user runs it: real processes, the real model."""

from __future__ import annotations

from pathlib import Path

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
def test_a_bad_cast_is_one_line_and_stores_nothing(
    lw_home: Home, cast: list[str], named: str
) -> None:
    line = one_line_error(run_cli("chat", *cast, "--say", "hello"))
    assert named in line
    store = ChatStore.open(lw_home)
    assert store.list_chats() == []
    store.close()


def test_chats_export_and_import_a_scene_as_a_group_chat(lw_home: Home, tmp_path: Path) -> None:
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


def test_piped_lines_choose_speakers_and_resume_continues_the_scene(lw_home: Home) -> None:
    cast = ("chat", "brenna", "old_tam", "--seed", "3", "--max-tokens", "12")
    piped = run_cli(*cast, stdin="@old_tam Evening, Tam.\n/talk 1\n/bogus\n")
    assert piped.returncode == 0, piped.stderr
    shown = [line for line in piped.stdout.splitlines() if ":" in line]
    assert shown[0].startswith("Old Tam:")
    assert shown[1].startswith("Brenna Ironhand:")  # the next in turn after Old Tam
    assert "unknown scene command '/bogus'" in piped.stderr
    resumed = run_cli(*cast, "--resume", "--say", "Brenna, your view?")
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.startswith("Brenna Ironhand:")
    store = ChatStore.open(lw_home)
    [chat] = store.list_chats()
    names = [m.name for m in store.active_path(chat.id)]
    assert names[0] == names[3] != "Old Tam"  # the player's lines
    assert names[1:3] == ["Old Tam", "Brenna Ironhand"] and names[4] == "Brenna Ironhand"
    store.close()


def test_group_flags_on_a_one_to_one_chat_are_refused() -> None:
    line = one_line_error(run_cli("chat", "brenna", "--talk", "2", "--say", "hi"))
    assert "--talk" in line


def test_piped_swipes_edit_delete_and_branch_mean_what_they_do_in_a_chat(lw_home: Home) -> None:
    script = "@old_tam Evening, Tam.\n/regen\n/left\n/edit Aye, evening.\n/branch\n/delete\n"
    piped = run_cli("chat", "brenna", "old_tam", "--max-tokens", "8", stdin=script)
    assert piped.returncode == 0, piped.stderr
    assert "swipe 1/2" in piped.stdout and "now in chat 2 (a branch)" in piped.stdout
    store = ChatStore.open(lw_home)
    first, second = store.active_path(1), store.active_path(2)
    assert [m.content for m in first] == ["Evening, Tam.", "Aye, evening."]
    assert len(store.swipes(first[1].id)) == 2  # the regenerated take beside it
    assert store.versions(first[1].id)[-1] == "Aye, evening." != store.versions(first[1].id)[0]
    assert [m.content for m in second] == ["Evening, Tam."]  # the branch's last line deleted
    chat = store.get_chat(2)
    assert chat.character_id == "group:brenna+old_tam" and chat.meta["group"]["cast"]
    store.close()


def test_prompt_explain_shows_each_members_own_prompt(lw_home: Home, cast_ids: list[str]) -> None:
    import yaml
    from npc.npc_sheet import npc_data

    gerd = lw_home.characters / "gerd.yaml"
    gerd.write_text(yaml.safe_dump(npc_data()), encoding="utf-8")
    result = run_cli(
        "prompt", "gerd", "mira", "--say", "Gerd, Mira: news?", "--scene", "The gate.", "--explain"
    )
    assert result.returncode == 0, result.stderr
    gerd_part, mira_part = result.stdout.split("Prompt for Mira (mira)")
    assert "Prompt for Gerd (gerd)" in gerd_part
    for part in (gerd_part, mira_part):
        assert "scene:" in part and "history" in part and "1 turns kept" in part
    assert "structured reply" in gerd_part and "gold = 5" in gerd_part
    assert "structured reply" not in mira_part and "gold" not in mira_part
