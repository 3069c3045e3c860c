"""`loreweaver chats …` as a user runs it: real processes on a real chat database."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from support import run_cli

from app.home import Home
from app.memory.store import ChatStore
from app.sheets import library


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def seed_chats(home: Home) -> tuple[int, int]:
    with ChatStore.open(home) as store:
        first = store.create_chat("brenna", title="Haggling")
        question = store.add_message(first.id, "user", "How much for a sword?")
        store.add_message(first.id, "assistant", "Ten crowns.", name="Brenna")
        store.add_message(
            first.id,
            "assistant",
            "Twelve.",
            name="Brenna",
            parent_id=question.id,
            meta={"model": "SmolLM2.gguf", "seed": 4},
        )
        second = store.create_chat("kestrel")
        store.add_message(second.id, "user", "Split the bounty?")
        store.add_message(second.id, "assistant", "Sixty-forty.", status="interrupted")
        store.add_message(second.id, "user", "Fifty-fifty.")
    return first.id, second.id


def test_list_on_a_fresh_home(lw_home: Home) -> None:
    result = run_cli("chats", "list")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "no chats yet"
    result = run_cli("chats", "list", "--json")
    assert json.loads(result.stdout) == []


def test_list_shows_ids_characters_counts_and_dates(lw_home: Home) -> None:
    first, second = seed_chats(lw_home)
    result = run_cli("chats", "list")
    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["ID", "CHARACTER", "MESSAGES", "UPDATED", "TITLE"]
    assert [row.split()[:3] for row in rows] == [
        [str(second), "kestrel", "3"],
        [str(first), "brenna", "2"],
    ]
    assert rows[1].endswith("Haggling")

    data = json.loads(run_cli("chats", "list", "brenna", "--json").stdout)
    assert [(c["id"], c["character"], c["title"], c["message_count"]) for c in data] == [
        (first, "brenna", "Haggling", 2)
    ]
    assert data[0]["last_message"] == "Twelve."
    assert data[0]["updated_at"] >= data[0]["created_at"]
    assert run_cli("chats", "list", "nobody").stdout.strip() == "no chats with nobody"


def test_show_prints_the_active_path_with_swipes_and_status(lw_home: Home) -> None:
    first, second = seed_chats(lw_home)
    result = run_cli("chats", "show", str(first))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f'chat {first} with brenna "Haggling": 2 messages')
    assert lines[1].endswith("User: How much for a sword?")
    assert lines[2].endswith("Brenna [2/2]: Twelve.")
    assert "[interrupted]: Sixty-forty." in run_cli("chats", "show", str(second)).stdout

    data = json.loads(run_cli("chats", "show", str(first), "--json").stdout)
    assert [m["content"] for m in data["messages"]] == ["How much for a sword?", "Twelve."]
    assert (data["messages"][1]["swipe"], data["messages"][1]["swipes"]) == (2, 2)
    assert data["messages"][1]["meta"] == {"model": "SmolLM2.gguf", "seed": 4}


def test_export_import_round_trip(lw_home: Home, tmp_path: Path) -> None:
    first, _ = seed_chats(lw_home)
    target = tmp_path / "haggling.jsonl"
    result = run_cli("chats", "export", str(first), "-o", str(target))
    assert result.returncode == 0, result.stderr
    assert f"exported chat {first} (2 messages)" in result.stdout
    header = json.loads(target.read_text(encoding="utf-8").splitlines()[0])
    assert header["character_name"] == library.load(lw_home, "brenna")[1].name  # not the id
    assert run_cli("chats", "export", str(first)).stdout == target.read_text(encoding="utf-8")

    result = run_cli("chats", "import", str(target))
    assert result.returncode == 0, result.stderr
    assert "for brenna: 2 messages" in result.stdout
    new_id = int(result.stdout.split()[2].rstrip(":"))
    with ChatStore.open(lw_home) as store:
        old, new = store.active_path(first), store.active_path(new_id)
        assert [(m.role, m.content) for m in new] == [(m.role, m.content) for m in old]
        assert [s.content for s in store.swipes(new[1].id)] == ["Ten crowns.", "Twelve."]

    result = run_cli("chats", "import", str(target), "--character", "kestrel")
    assert result.returncode == 0, result.stderr
    assert "for kestrel" in result.stdout and result.stderr == ""
    result = run_cli("chats", "import", str(target), "--character", "stranger")
    assert result.returncode == 0 and "no character 'stranger' is installed" in result.stderr


def test_import_of_a_current_sillytavern_file(lw_home: Home, tmp_path: Path) -> None:
    """Headers say "unused"; the names are in the messages, or the command says what to pass."""
    header = {
        "chat_metadata": {"integrity": "x"},
        "user_name": "unused",
        "character_name": "unused",
    }
    named = tmp_path / "named.jsonl"
    lines = [header, {"name": "Старый Там", "is_user": False, "mes": "Evening."},
             {"name": "Ash", "is_user": True, "mes": "Hi."}]  # fmt: skip
    named.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    result = run_cli("chats", "import", str(named))
    assert result.returncode == 0, result.stderr
    assert "for старый_там: 2 messages" in result.stdout
    with ChatStore.open(lw_home) as store:
        assert store.list_chats()[0].character_id == "старый_там"
        assert store.get_chat(store.list_chats()[0].id).user_name == "Ash"
    anonymous = tmp_path / "anon.jsonl"
    anonymous.write_text(json.dumps(header) + '\n{"is_user": true, "mes": "Hi."}\n')
    problem = one_line_error(run_cli("chats", "import", str(anonymous)))
    assert "anon.jsonl" in problem and "pass --character ID" in problem


def test_delete_removes_the_chat(lw_home: Home) -> None:
    first, second = seed_chats(lw_home)
    refused = one_line_error(run_cli("chats", "delete", str(first)))
    assert "add --yes" in refused and f"chat {first}" in refused
    result = run_cli("chats", "delete", str(first), "--yes")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"deleted chat {first}"
    assert [c["id"] for c in json.loads(run_cli("chats", "list", "--json").stdout)] == [second]
    assert one_line_error(run_cli("chats", "delete", str(first), "--yes")) == (
        f"loreweaver: error: no chat with id {first}"
    )


def test_bad_input_is_a_one_line_error(lw_home: Home, tmp_path: Path) -> None:
    assert one_line_error(run_cli("chats", "show", "42")) == "loreweaver: error: no chat with id 42"
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"user_name": "You", "character_name": "Tam"}\n{"mes": }\n')
    line = one_line_error(run_cli("chats", "import", str(broken)))
    assert line.startswith(f"loreweaver: error: {broken}: line 2: not valid JSON")
    line = one_line_error(run_cli("chats", "import", str(tmp_path / "missing.jsonl")))
    assert "missing.jsonl: cannot read" in line
    assert json.loads(run_cli("chats", "list", "--json").stdout) == []

    usage = run_cli("chats", "show", "abc")
    assert usage.returncode == 2 and "invalid int value" in usage.stderr
    usage = run_cli("chats")
    assert usage.returncode == 2 and "required" in usage.stderr


def test_a_newer_database_is_refused_by_the_cli(lw_home: Home) -> None:
    ChatStore.open(lw_home).close()
    import sqlite3

    from app.memory.store import SCHEMA_VERSION

    conn = sqlite3.connect(lw_home.database)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.commit()
    conn.close()
    line = one_line_error(run_cli("chats", "list"))
    assert str(lw_home.database) in line and "upgrade Loreweaver" in line
