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
