"""The author's note: kept per chat in SQLite, placed by depth, inserted every N user turns."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from support import start_brenna

from app.errors import LoreweaverError
from app.home import Home
from app.memory.authors_note import AuthorsNote, load_note, make_note, save_note
from app.memory.store import ChatStore

if TYPE_CHECKING:
    from app.engine.llamacpp import LlamaEngine


def test_a_note_is_kept_per_chat_and_survives_reopening(store: ChatStore) -> None:
    first, second = store.create_chat("brenna"), store.create_chat("brenna")
    save_note(store, first.id, make_note("Keep it short.", depth=3, frequency=2, role="user"))
    assert load_note(store, first.id) == AuthorsNote(
        text="Keep it short.", depth=3, frequency=2, role="user"
    )
    assert load_note(store, second.id) is None
    save_note(store, first.id, make_note("Now longer.", depth=0))
    note = load_note(store, first.id)
    assert note is not None and note.text == "Now longer."
    save_note(store, first.id, None)
    assert load_note(store, first.id) is None


def test_deleting_a_chat_deletes_its_note(store: ChatStore) -> None:
    chat = store.create_chat("brenna")
    save_note(store, chat.id, make_note("x"))
    store.delete_chat(chat.id)
    again = store.create_chat("brenna")
    assert load_note(store, again.id) is None
    with pytest.raises(LoreweaverError, match="no chat"):
        save_note(store, chat.id, make_note("y"))


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("depth", -1, "depth"),
        ("frequency", -2, "frequency"),
        ("role", "narrator", "role"),
        ("depth", 10_000, "depth"),
    ],
)
def test_bad_placement_is_one_clear_error(field: str, value: object, words: str) -> None:
    kwargs: dict[str, object] = {"depth": 0, "frequency": 1, "role": "system", field: value}
    with pytest.raises(LoreweaverError) as caught:
        make_note("text", **kwargs)  # type: ignore[arg-type]
    assert words in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize(("frequency", "turns"), [(1, [1, 2, 3, 4, 5, 6]), (3, [3, 6]), (0, [])])
def test_frequency_counts_user_turns(frequency: int, turns: list[int]) -> None:
    note = AuthorsNote(text="x", frequency=frequency)
    assert [t for t in range(1, 7) if note.applies(t)] == turns


def test_depth_zero_rides_in_the_per_turn_notes(engine: LlamaEngine, lw_home: Home) -> None:
    session = start_brenna(engine, lw_home, user="Ann", summaries=False)
    session.set_authors_note(make_note("{{char}} is tired and curt with {{user}}."))
    messages = session.messages("Hello.")
    assert messages[-1].role == "user"
    assert messages[-1].content.startswith("Hello.")
    assert "Brenna Ironhand is tired and curt with Ann." in messages[-1].content
    assert sum("tired" in m.content for m in messages) == 1
    notes = next(s for s in session.assembly("Hello.").sections if s.name == "per-turn notes")
    assert any("author's note (in the per-turn notes, every turn)" in line for line in notes.lines)


def test_a_depth_puts_the_note_as_its_own_message(engine: LlamaEngine, lw_home: Home) -> None:
    from app.prompts.messages import Message

    session = start_brenna(engine, lw_home, user="Ann", summaries=False)
    session.history = [
        *session.history,
        Message("user", "One."),
        Message("assistant", "Two."),
        Message("user", "Three."),
        Message("assistant", "Four."),
    ]
    session.set_authors_note(make_note("NOTE", depth=2, role="user"))
    messages = session.messages("Five.")
    contents = [m.content.split("\n")[0] for m in messages]
    at = contents.index("NOTE")
    assert messages[at].role == "user"
    assert contents[at + 1 : at + 3] == ["Four.", "Five."]
    assembly = session.assembly("Five.")
    section = next(s for s in assembly.sections if s.name == "author's note")
    assert section.tokens > 0 and "user message at depth 2" in section.lines[0]


def test_a_depth_larger_than_the_history_goes_right_after_the_system_prompt(
    engine: LlamaEngine, lw_home: Home
) -> None:
    session = start_brenna(engine, lw_home, user="Ann", summaries=False)
    session.set_authors_note(make_note("NOTE", depth=50))
    messages = session.messages("Hi.")
    assert messages[0].role == "system" and messages[1].content == "NOTE"


def test_a_note_every_second_turn_is_absent_on_odd_turns(
    engine: LlamaEngine, lw_home: Home
) -> None:
    from app.prompts.messages import Message

    session = start_brenna(engine, lw_home, user="Ann", summaries=False)
    session.set_authors_note(make_note("NOTE-TEXT", frequency=2))
    assert "NOTE-TEXT" not in session.prompt("first")
    notes = next(s for s in session.assembly("first").sections if s.name == "per-turn notes")
    assert any("not on turn 1" in line for line in notes.lines)
    session.history = [*session.history, Message("user", "first"), Message("assistant", "ok")]
    assert "NOTE-TEXT" in session.prompt("second")


def test_a_saved_chat_reopens_with_its_note_and_branches_keep_it(
    engine: LlamaEngine, lw_home: Home, store: ChatStore
) -> None:
    session = start_brenna(engine, lw_home, store, user="Ann", summaries=False)
    assert session.saved_chat() is not None and session.chat is not None
    session.set_authors_note(make_note("Remember the debt.", depth=1))
    again = start_brenna(
        engine, lw_home, store, resume=session.chat.id, user="Ann", summaries=False
    )
    assert again.authors_note == session.authors_note
    branch = again.branch(0)
    assert load_note(store, branch.id) == session.authors_note
