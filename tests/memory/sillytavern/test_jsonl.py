"""SillyTavern JSONL: round trips, a hand-written SillyTavern file, and broken files."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.errors import LoreweaverError
from app.memory.sillytavern import chat_file as jsonl_parse
from app.memory.sillytavern import export_chat, import_chat, iso_date, parse_date, write_chat_file
from app.memory.store import ChatStore


def build_chat(store: ChatStore) -> int:
    chat = store.create_chat("brenna", title="Haggling", user_name="Ash", meta={"scene": "forge"})
    store.add_message(chat.id, "system", "The forge is hot.")
    store.add_message(chat.id, "assistant", "Welcome to my forge.", name="Brenna")
    question = store.add_message(chat.id, "user", "How much for a sword?")
    store.add_message(
        chat.id,
        "assistant",
        "Ten crowns.",
        name="Brenna",
        meta={"model": "smol.gguf", "completion_tokens": 3, "seed": 1},
    )
    chosen = store.add_message(
        chat.id, "assistant", "Twelve.", parent_id=question.id, name="Brenna", meta={"seed": 2}
    )
    store.add_message(
        chat.id,
        "assistant",
        "Not for sale.",
        parent_id=question.id,
        name="Brenna",
        status="cancelled",
    )
    store.select(chosen.id)
    store.edit(chosen.id, "Twelve, for you.")
    store.add_message(chat.id, "user", "Deal.")
    return chat.id


def shape(store: ChatStore, chat_id: int) -> list[tuple[object, ...]]:
    """What a round trip must keep: each turn, its swipes, which one is shown, and their data."""
    out: list[tuple[object, ...]] = []
    for message in store.active_path(chat_id):
        swipes = store.swipes(message.id) if message.role == "assistant" else [message]
        out.append(
            (
                message.role,
                [s.id for s in swipes].index(message.id),
                [(s.content, s.name, s.status, s.meta, store.versions(s.id)) for s in swipes],
            )
        )
    return out


def test_export_then_import_gives_the_same_chat(store: ChatStore, tmp_path: Path) -> None:
    chat_id = build_chat(store)
    target = tmp_path / "out" / "haggling.jsonl"
    write_chat_file(store, chat_id, target, character_name="Brenna")
    imported = import_chat(store, target)
    assert imported.id != chat_id
    assert imported.character_id == "brenna" and imported.title == "Haggling"
    assert imported.user_name == "Ash"
    assert imported.meta == {"scene": "forge", "imported_from": "haggling.jsonl"}
    assert shape(store, imported.id) == shape(store, chat_id)
    original = store.active_path(chat_id)
    again = store.active_path(imported.id)
    assert [m.created_at for m in again] == pytest.approx(
        [m.created_at for m in original], abs=1e-3
    )
    # And the re-export of the import is the same file, apart from our chat ids.
    first = [json.loads(line) for line in target.read_text().splitlines()]
    second = [
        json.loads(line)
        for line in export_chat(store, imported.id, character_name="Brenna").splitlines()
    ]
    for header in (first[0], second[0]):
        header["chat_metadata"]["loreweaver"].pop("chat_id")
        header["chat_metadata"]["loreweaver"]["meta"].pop("imported_from", None)
    assert first == second


def test_the_export_is_sillytavern_shaped(store: ChatStore) -> None:
    chat_id = build_chat(store)
    lines = [json.loads(line) for line in export_chat(store, chat_id).splitlines()]
    header, *messages = lines
    assert set(header) == {"user_name", "character_name", "create_date", "chat_metadata"}
    assert header["user_name"] == "Ash" and header["character_name"] == "brenna"
    assert parse_date(header["create_date"]) is not None
    assert len(messages) == 5
    for message in messages:
        assert {"name", "is_user", "is_system", "send_date", "mes", "extra"} <= set(message)
        assert isinstance(datetime.fromisoformat(message["send_date"]), datetime)
        assert message["is_system"] is False
    narrator, greeting, question, reply, deal = messages
    assert narrator["extra"]["type"] == "narrator" and narrator["name"] == "System"
    assert question["is_user"] is True and question["name"] == "Ash" and "swipes" not in question
    assert reply["swipes"] == ["Ten crowns.", "Twelve, for you.", "Not for sale."]
    assert reply["swipe_id"] == 1 and reply["mes"] == "Twelve, for you."
    assert len(reply["swipe_info"]) == 3
    assert reply["swipe_info"][0]["extra"]["model"] == "smol.gguf"
    assert reply["swipe_info"][0]["extra"]["token_count"] == 3
    assert reply["extra"]["loreweaver"]["versions"] == ["Twelve."]
    assert reply["extra"]["loreweaver"]["meta"] == {"seed": 2}
    assert greeting["swipes"] == ["Welcome to my forge."] and greeting["swipe_id"] == 0
    assert deal["mes"] == "Deal."


ST_FILE = (
    "\n".join(
        json.dumps(line)
        for line in [
            {
                "user_name": "You",
                "character_name": "Old Tam",
                "create_date": "2023-6-19 @14h 20m 05s 123ms",
                "chat_metadata": {"integrity": "3c0f6a5e", "note_prompt": "", "tainted": False},
            },
            {
                "name": "Old Tam",
                "is_user": False,
                "is_system": False,
                "send_date": "June 19, 2023 2:20pm",
                "mes": "Evening, stranger.",
                "extra": {},
                "swipes": ["Evening, stranger.", "Sit, the fire's warm."],
                "swipe_id": 0,
                "swipe_info": [{"send_date": "June 19, 2023 2:20pm", "extra": {}}],
            },
            {
                "name": "You",
                "is_user": True,
                "is_name": True,
                "send_date": "June 19, 2023 2:21pm",
                "mes": "Any news from the road?",
                "extra": {"isSmallSys": False},
                "force_avatar": "User Avatars/me.png",
            },
            {
                "name": "Old Tam",
                "is_user": False,
                "is_name": True,
                "send_date": "2023-06-19T14:22:10.000Z",
                "mes": "Wolves, mostly.",
                "extra": {"api": "koboldcpp", "model": "mythomax", "token_count": 4},
                "swipe_id": 1,
                "swipes": ["Nothing worth telling.", "Wolves, mostly.", "A man went missing."],
                "swipe_info": [
                    {
                        "send_date": "2023-06-19T14:21:50.000Z",
                        "gen_started": "2023-06-19T14:21:49.000Z",
                        "gen_finished": "2023-06-19T14:21:50.000Z",
                        "extra": {"api": "koboldcpp"},
                    },
                    {"send_date": "2023-06-19T14:22:10.000Z", "extra": {"api": "koboldcpp"}},
                    None,
                ],
                "gen_started": "2023-06-19T14:22:09.000Z",
                "gen_finished": "2023-06-19T14:22:10.000Z",
            },
            {
                "name": "System",
                "is_user": False,
                "is_system": False,
                "send_date": 1687184600000,
                "mes": "The fire crackles.",
                "extra": {"type": "narrator"},
            },
            {
                "name": "You",
                "is_user": True,
                "is_system": True,
                "send_date": "June 19, 2023 2:24pm",
                "mes": "(hidden from the prompt)",
            },
        ]
    )
    + "\n"
)


def test_a_sillytavern_file_imports(store: ChatStore, tmp_path: Path) -> None:
    source = tmp_path / "Old Tam - 2023-6-19@14h20m05s.jsonl"
    source.write_text(ST_FILE, encoding="utf-8")
    chat = import_chat(store, source)
    assert chat.character_id == "old_tam" and chat.user_name == "You"
    assert chat.title == "Old Tam - 2023-6-19@14h20m05s"
    # No line pairs a date text with an exact time, so the author's zone is unknown: UTC.
    assert chat.created_at == datetime(2023, 6, 19, 14, 20, 5, 123000, UTC).timestamp()
    assert chat.meta["sillytavern"] == {
        "integrity": "3c0f6a5e",
        "note_prompt": "",
        "tainted": False,
    }
    path = store.active_path(chat.id)
    assert [(m.role, m.name, m.content) for m in path] == [
        ("assistant", "Old Tam", "Evening, stranger."),
        ("user", "You", "Any news from the road?"),
        ("assistant", "Old Tam", "Wolves, mostly."),
        ("system", "System", "The fire crackles."),
        ("user", "You", "(hidden from the prompt)"),
    ]
    assert [m.content for m in store.swipes(path[0].id)] == [
        "Evening, stranger.",
        "Sit, the fire's warm.",
    ]
    swipes = store.swipes(path[2].id)
    assert [m.content for m in swipes] == [
        "Nothing worth telling.",
        "Wolves, mostly.",
        "A man went missing.",
    ]
    assert [m.id for m in swipes].index(path[2].id) == 1
    assert path[1].created_at == datetime(2023, 6, 19, 14, 21, tzinfo=UTC).timestamp()
    # The exact start of generation wins over the send date.
    assert path[2].created_at == datetime.fromisoformat("2023-06-19T14:22:09+00:00").timestamp()
    assert swipes[0].created_at == datetime.fromisoformat("2023-06-19T14:21:49+00:00").timestamp()
    assert path[3].created_at == 1687184600.0
    assert path[4].meta["hidden"] is True

    # SillyTavern's own fields come back out on export.
    exported = export_chat(store, chat.id, character_name="Old Tam")
    header, *lines = [json.loads(line) for line in exported.splitlines()]
    assert header["chat_metadata"]["integrity"] == "3c0f6a5e"
    assert lines[1]["force_avatar"] == "User Avatars/me.png" and lines[1]["is_name"] is True
    assert lines[2]["extra"]["api"] == "koboldcpp" and lines[2]["extra"]["model"] == "mythomax"
    assert lines[2]["swipe_id"] == 1
    assert lines[4]["is_system"] is True and lines[4]["is_user"] is True


def test_import_with_an_explicit_character(store: ChatStore, tmp_path: Path) -> None:
    source = tmp_path / "chat.jsonl"
    source.write_text(ST_FILE, encoding="utf-8")
    assert import_chat(store, source, character_id="tam2").character_id == "tam2"
    no_name = tmp_path / "anon.jsonl"
    no_name.write_text('{"user_name": "You"}\n{"mes": "Hi", "is_user": true}\n', encoding="utf-8")
    with pytest.raises(LoreweaverError, match="pass --character"):
        import_chat(store, no_name)
    assert store.active_path(import_chat(store, no_name, character_id="x").id)[0].role == "user"


HEADER = '{"user_name": "You", "character_name": "Old Tam"}'


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (
            HEADER + '\n{"name": "Tam", "mes": "Hi"}\n{"name": "Tam", "mes": }\n',
            "line 3: not valid JSON (Expecting value at column 24)",
        ),
        (HEADER + '\n["a list"]\n', "line 2: must be a JSON object"),
        (HEADER + '\n{"name": "Tam", "is_user": false}\n', "line 2: mes: is required"),
        (
            HEADER + '\n{"mes": "Hi", "swipes": ["Hi", {"message": "x"}]}\n',
            "line 2: swipes[1]: must be text",
        ),
        (
            HEADER + '\n{"mes": "Hi", "swipes": ["Hi", "Ho"], "swipe_id": 5}\n',
            "line 2: swipe_id 5 is out of range (2 swipes)",
        ),
        (HEADER + '\n{"mes": "Hi", "extra": 3}\n', "line 2: extra: must be a mapping"),
        (HEADER + '\n{"mes": NaN}\n', "line 2: not valid JSON (NaN is not allowed)"),
        (HEADER + "\n" + "[" * 100_000 + "\n", "line 2: not valid JSON (nested too deeply)"),
        ('{"name": "Tam", "mes": "Hi"}\n', "line 1: expected the chat header"),
        ("\n\n", "empty file: no chat header line"),
        ("", "empty file: no chat header line"),
    ],
)
def test_a_broken_file_is_a_one_line_error(
    store: ChatStore, tmp_path: Path, content: str, problem: str
) -> None:
    source = tmp_path / "broken.jsonl"
    source.write_text(content, encoding="utf-8")
    with pytest.raises(LoreweaverError) as caught:
        import_chat(store, source)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{source}: {problem}")
    assert store.list_chats() == []


def test_bad_bytes_and_oversized_files_are_refused(
    store: ChatStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "latin1.jsonl"
    source.write_bytes(HEADER.encode() + b'\n{"mes": "caf\xe9"}\n')
    with pytest.raises(LoreweaverError, match=r"latin1\.jsonl: line 2: not valid UTF-8"):
        import_chat(store, source)
    monkeypatch.setattr(jsonl_parse, "MAX_FILE_BYTES", 40)
    source.write_text(ST_FILE, encoding="utf-8")
    with pytest.raises(LoreweaverError, match="over the 40 limit"):
        import_chat(store, source)
    with pytest.raises(LoreweaverError, match="cannot read"):
        import_chat(store, tmp_path / "missing.jsonl")
    assert store.list_chats() == []


def test_a_failure_midway_through_an_import_stores_nothing(
    store: ChatStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat_id = build_chat(store)
    target = tmp_path / "chat.jsonl"
    write_chat_file(store, chat_id, target)

    def broken_edit(self: ChatStore, message_id: int, content: str) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(ChatStore, "edit", broken_edit)
    with pytest.raises(OSError):
        import_chat(store, target)
    assert [c.id for c in store.list_chats()] == [chat_id]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (1687184600000, 1687184600.0),
        (1687184600, 1687184600.0),
        ("1687184600000", 1687184600.0),
        ("2023-06-19T14:23:20.000Z", 1687184600.0),
        ("2023-6-19 @14h 20m 05s 123ms", datetime(2023, 6, 19, 14, 20, 5, 123000, UTC).timestamp()),
        ("2023-6-19@14h20m05s", datetime(2023, 6, 19, 14, 20, 5, tzinfo=UTC).timestamp()),
        ("June 19, 2023 2:20pm", datetime(2023, 6, 19, 14, 20, tzinfo=UTC).timestamp()),
        ("Jun 19, 2023 12:05am", datetime(2023, 6, 19, 0, 5, tzinfo=UTC).timestamp()),
        ("yesterday", None),
        (None, None),
        (True, None),
        ("Smarch 1, 2023 1:00pm", None),
        (10**400, None),
        (1e300, None),
    ],
)
def test_sillytavern_dates(raw: object, expected: float | None) -> None:
    assert parse_date(raw) == expected


def test_exported_dates_read_back() -> None:
    assert parse_date(iso_date(1687184600.5)) == 1687184600.5


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
st_keys = st.sampled_from(
    [
        "name",
        "is_user",
        "is_system",
        "send_date",
        "mes",
        "swipes",
        "swipe_id",
        "swipe_info",
        "extra",
        "gen_started",
        "force_avatar",
    ]
)
plausible = st.fixed_dictionaries(
    {"mes": st.text(max_size=10)},
    optional={
        "name": st.text(max_size=6) | json_values,
        "is_user": st.booleans() | json_values,
        "is_system": st.booleans(),
        "send_date": st.integers() | st.text(max_size=30) | st.floats(allow_nan=False),
        "swipes": st.lists(st.text(max_size=6), max_size=3) | json_values,
        "swipe_id": st.integers(min_value=-1, max_value=3) | json_values,
        "swipe_info": st.lists(
            st.none()
            | st.dictionaries(st.sampled_from(["send_date", "extra"]), json_values, max_size=2),
            max_size=3,
        )
        | json_values,
        "extra": st.dictionaries(
            st.sampled_from(["type", "model", "token_count", "loreweaver", "api"]),
            json_values,
            max_size=3,
        )
        | json_values,
        "force_avatar": json_values,
    },
)
st_lines = plausible | st.dictionaries(st_keys, json_values, max_size=8)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lines=st.lists(st_lines, max_size=4), garbage=st.binary(max_size=24))
def test_any_file_imports_or_fails_cleanly(
    store: ChatStore, tmp_path: Path, lines: list[dict[str, object]], garbage: bytes
) -> None:
    """Whatever the file holds: a chat that exports again, or one LoreweaverError."""
    source = tmp_path / "fuzz.jsonl"
    body = "\n".join(json.dumps(line) for line in [{"character_name": "Tam"}, *lines])
    for data in (body.encode(), body.encode() + b"\n" + garbage):
        source.write_bytes(data)
        before = len(store.list_chats())
        try:
            chat = import_chat(store, source)
        except LoreweaverError as exc:
            assert "\n" not in str(exc)
            assert len(store.list_chats()) == before
            continue
        exported = export_chat(store, chat.id).splitlines()
        assert len(exported) == 1 + len(store.active_path(chat.id))
