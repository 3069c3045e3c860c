"""Chat files as current SillyTavern writes them: placeholder header names, the author's local
date texts beside exact UTC times, per-swipe dates, and a shown text edited away from its swipe."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.memory.sillytavern import NoCharacter, export_chat, import_chat
from app.memory.store import ChatStore

HEADER: dict[str, Any] = {
    "chat_metadata": {"integrity": "5f1c2d", "chat_id_hash": 8812, "note_prompt": ""},
    "user_name": "unused",
    "character_name": "unused",
}
GREETING: dict[str, Any] = {
    "name": "Seraphina",
    "is_user": False,
    "is_system": False,
    "send_date": "May 12, 2025 2:30pm",
    "mes": "Welcome to the glade.",
    "extra": {},
}
QUESTION: dict[str, Any] = {
    "name": "Ash",
    "is_user": True,
    "is_system": False,
    "send_date": "May 12, 2025 2:31pm",
    "mes": "Where am I?",
    "extra": {"isSmallSys": False},
    "force_avatar": "User Avatars/ash.png",
}
# The author is at UTC-7: "2:32pm" there is 21:32 UTC, which the exact times say.
REPLY: dict[str, Any] = {
    "name": "Seraphina",
    "is_user": False,
    "is_system": False,
    "send_date": "May 12, 2025 2:32pm",
    "mes": "Safe, for now. (edited)",
    "extra": {"api": "openai", "model": "gpt-4o", "token_count": 5},
    "swipe_id": 1,
    "swipes": ["In my forest.", "Safe, for now."],
    "swipe_info": [
        {
            "send_date": "May 12, 2025 2:31pm",
            "gen_started": "2025-05-12T21:31:40.100Z",
            "gen_finished": "2025-05-12T21:31:44.900Z",
            "extra": {"api": "openai"},
        },
        {
            "send_date": "May 12, 2025 2:32pm",
            "gen_started": "2025-05-12T21:31:58.120Z",
            "gen_finished": "2025-05-12T21:32:03.456Z",
            "extra": {"api": "openai", "model": "gpt-4o"},
        },
    ],
    "gen_started": "2025-05-12T21:31:58.120Z",
    "gen_finished": "2025-05-12T21:32:03.456Z",
}


def write(path: Path, *lines: dict[str, object]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


@pytest.fixture
def elsewhere(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The importing machine sits in a zone that is neither UTC nor the author's."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_placeholder_names_come_from_the_messages(store: ChatStore, tmp_path: Path) -> None:
    source = write(tmp_path / "Seraphina - 2025-5-12@14h30m.jsonl", HEADER, GREETING, QUESTION)
    chat = import_chat(store, source)
    assert chat.character_id == "seraphina" and chat.user_name == "Ash"
    header = json.loads(export_chat(store, chat.id, character_name="Seraphina").splitlines()[0])
    assert header["user_name"] == "Ash" and header["character_name"] == "Seraphina"
    assert "create_date" in header and header["create_date"] is not None
    # --character chooses the owner; the user's name still comes from the messages.
    chosen = import_chat(store, source, character_id="glade_keeper")
    assert chosen.character_id == "glade_keeper" and chosen.user_name == "Ash"


def test_no_name_anywhere_asks_for_a_character(store: ChatStore, tmp_path: Path) -> None:
    unnamed = {key: value for key, value in QUESTION.items() if key != "name"}
    source = write(tmp_path / "anon.jsonl", HEADER, unnamed)
    with pytest.raises(NoCharacter, match=r"anon\.jsonl: .*pass --character ID"):
        import_chat(store, source)
    assert store.list_chats() == []
    chat = import_chat(store, source, character_id="someone")
    assert chat.user_name == "User"  # no name for the user either: the default


def test_a_non_latin_character_is_imported(store: ChatStore, tmp_path: Path) -> None:
    lines = [dict(GREETING, name="薛宝钗"), dict(QUESTION, name="黛玉")]
    chat = import_chat(store, write(tmp_path / "c.jsonl", HEADER, *lines))
    assert chat.character_id == "薛宝钗" and chat.user_name == "黛玉"
    other = import_chat(store, write(tmp_path / "k.jsonl", HEADER, dict(GREETING, name="김철수")))
    assert other.character_id == "김철수"


def test_dates_are_the_authors_not_the_importers(
    store: ChatStore, tmp_path: Path, elsewhere: None
) -> None:
    chat = import_chat(store, write(tmp_path / "s.jsonl", HEADER, GREETING, QUESTION, REPLY))
    greeting, question, reply = store.active_path(chat.id)
    # Texts without exact twins are read in the author's zone (UTC-7), learnt from the reply.
    assert greeting.created_at == datetime(2025, 5, 12, 21, 30, tzinfo=UTC).timestamp()
    assert question.created_at == datetime(2025, 5, 12, 21, 31, tzinfo=UTC).timestamp()
    # The exact start of generation wins.
    assert reply.created_at == datetime(2025, 5, 12, 21, 31, 58, 120000, UTC).timestamp()
    first = store.swipes(reply.id)[0]
    assert first.created_at == datetime(2025, 5, 12, 21, 31, 40, 100000, UTC).timestamp()


def test_every_date_and_both_texts_round_trip(
    store: ChatStore, tmp_path: Path, elsewhere: None
) -> None:
    chat = import_chat(store, write(tmp_path / "s.jsonl", HEADER, GREETING, QUESTION, REPLY))
    reply = store.active_path(chat.id)[2]
    assert reply.content == "Safe, for now. (edited)"
    assert store.versions(reply.id) == ["Safe, for now.", "Safe, for now. (edited)"]
    _, greeting, question, line = [
        json.loads(text) for text in export_chat(store, chat.id).splitlines()
    ]
    assert question["send_date"] == QUESTION["send_date"]
    assert greeting["send_date"] == GREETING["send_date"]
    for key in ("send_date", "gen_started", "gen_finished", "mes", "swipes", "swipe_id"):
        assert line[key] == REPLY[key], key
    for ours, theirs in zip(line["swipe_info"], REPLY["swipe_info"], strict=True):
        assert {k: v for k, v in ours.items() if k != "extra"} == {
            k: v for k, v in theirs.items() if k != "extra"
        }
    # And once more through our own export: nothing drifts, no text is doubled.
    again_file = tmp_path / "again.jsonl"
    again_file.write_text(export_chat(store, chat.id), encoding="utf-8")
    again = import_chat(store, again_file)
    twice = [json.loads(text) for text in export_chat(store, again.id).splitlines()]
    assert twice[3]["swipes"] == REPLY["swipes"] and twice[3]["mes"] == REPLY["mes"]
    assert twice[3]["swipe_info"][0]["gen_finished"] == "2025-05-12T21:31:44.900Z"
    assert store.versions(store.active_path(again.id)[2].id) == store.versions(reply.id)


dates = st.one_of(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1)).map(
        lambda d: d.strftime("%B %-d, %Y %-I:%M") + ("pm" if d.hour >= 12 else "am")
    ),
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1)).map(
        lambda d: f"{d.year}-{d.month}-{d.day} @{d.hour:02d}h {d.minute:02d}m {d.second:02d}s 5ms"
    ),
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1)).map(
        lambda d: d.isoformat(timespec="milliseconds") + "Z"
    ),
    st.integers(min_value=0, max_value=4_000_000_000_000),
    st.text(max_size=12),
    st.none(),
    st.lists(st.integers(), max_size=2),
)
date_fields = st.dictionaries(st.sampled_from(["send_date", "gen_started", "gen_finished"]), dates)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    lines=st.lists(
        st.tuples(st.booleans(), date_fields, st.lists(date_fields, max_size=3)),
        min_size=1,
        max_size=4,
    )
)
def test_any_dates_come_back_out_unchanged(
    store: ChatStore, tmp_path: Path, lines: list[tuple[bool, dict[str, Any], list[dict[str, Any]]]]
) -> None:
    written: list[dict[str, Any]] = [HEADER]
    for index, (is_user, fields, infos) in enumerate(lines):
        line: dict[str, Any] = {"name": "Ash" if is_user else "Tam", "is_user": is_user}
        line.update(fields, mes=f"m{index}")
        if infos and not is_user:
            line.update(swipes=[f"m{index}"] + [f"s{i}" for i in range(1, len(infos))], swipe_id=0)
            line["swipe_info"] = [{**info, "extra": {}} for info in infos]
        written.append(line)
    source = write(tmp_path / "dates.jsonl", *written)
    chat = import_chat(store, source, character_id="tam")
    out = [json.loads(text) for text in export_chat(store, chat.id).splitlines()][1:]
    for theirs, ours in zip(written[1:], out, strict=True):
        for key in ("send_date", "gen_started", "gen_finished"):
            if key in theirs:
                assert ours[key] == theirs[key], key
        if "swipe_info" in theirs:  # (a line without swipes gets them, as SillyTavern's do)
            for given_info, out_info in zip(theirs["swipe_info"], ours["swipe_info"], strict=True):
                assert {k: v for k, v in out_info.items() if k != "extra"} == {
                    k: v for k, v in given_info.items() if k != "extra"
                }
