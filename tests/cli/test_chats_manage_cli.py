"""`chats rename|search|bookmark|bookmarks|jump|branch|delete` as real processes."""

from __future__ import annotations

import json

from support import one_line_error, run_cli

from app.home import Home
from app.memory.store import ChatStore


def _seed(home: Home) -> tuple[int, list[int]]:
    with ChatStore.open(home) as store:
        chat = store.create_chat("brenna", title="Market")
        ids = [
            store.add_message(chat.id, role, text).id
            for role, text in [
                ("assistant", "Welcome."),
                ("user", "The anvil please."),
                ("assistant", "Forty."),
            ]
        ]
        other = store.create_chat("kestrel")
        store.add_message(other.id, "assistant", "An anvil on the road.")
    return chat.id, ids


def test_rename_search_bookmark_jump_and_branch(lw_home: Home) -> None:
    chat, ids = _seed(lw_home)
    assert run_cli("chats", "rename", str(chat), "  Market   day ").stdout.strip() == (
        f"chat {chat} is now 'Market day'"
    )
    hits = json.loads(run_cli("chats", "search", "anvil", "--json").stdout)
    assert {h["character"] for h in hits} == {"brenna", "kestrel"}
    assert (
        "chat 1 (brenna, Market day) #2 user: The anvil please."
        in run_cli("chats", "search", "ANVIL").stdout
    )
    assert "no messages match" in run_cli("chats", "search", "zebra").stdout

    assert (
        run_cli("chats", "bookmark", str(chat), "asked", "--message", str(ids[1])).returncode == 0
    )
    assert run_cli("chats", "bookmark", str(chat), "end").returncode == 0
    listed = json.loads(run_cli("chats", "bookmarks", str(chat), "--json").stdout)
    assert [(b["name"], b["message"]) for b in listed] == [("asked", ids[1]), ("end", ids[2])]

    jumped = run_cli("chats", "jump", str(chat), "asked")
    assert jumped.returncode == 0 and "2 messages on its path" in jumped.stdout
    branched = run_cli("chats", "branch", str(chat), "--bookmark", "end")
    assert branched.returncode == 0 and "(Market day (branch))" in branched.stdout
    again = run_cli("chats", "branch", str(chat), "--message", str(ids[0]))
    assert "(Market day (branch 2))" in again.stdout
    titles = [c["title"] for c in json.loads(run_cli("chats", "list", "--json").stdout)]
    assert titles.count("Market day (branch)") == 1 and "Market day (branch) (branch)" not in titles


def test_errors_are_one_line(lw_home: Home) -> None:
    chat, _ = _seed(lw_home)
    assert "cannot be empty" in one_line_error(run_cli("chats", "rename", str(chat), "   "))
    assert "no bookmark 'x'" in one_line_error(run_cli("chats", "jump", str(chat), "x"))
    run_cli("chats", "bookmark", str(chat), "a")
    assert "already has a bookmark" in one_line_error(run_cli("chats", "bookmark", str(chat), "a"))
    assert "not in chat" in one_line_error(run_cli("chats", "branch", str(chat), "--message", "4"))
    assert "--limit" in one_line_error(run_cli("chats", "search", "x", "--limit", "0"))
    assert "no chat with id 99" in one_line_error(run_cli("chats", "bookmarks", "99"))


def test_a_new_chat_is_not_saved_until_its_first_line(lw_home: Home) -> None:
    result = run_cli(
        "chat", "brenna", "--max-tokens", "2", "--seed", "1", stdin="/state\n", timeout=600
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(run_cli("chats", "list", "--json").stdout) == []
    run_cli("chat", "brenna", "--say", "Hi.", "--max-tokens", "2", "--seed", "1", timeout=600)
    assert len(json.loads(run_cli("chats", "list", "--json").stdout)) == 1
