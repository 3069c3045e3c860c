"""The chat tree through the session, with the real model and a real store: alternate greetings
as swipes, regenerate, swipe, continue, edit, delete, branch, impersonate, persona."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from support import run_cli, start_brenna

from app.engine.base import Sampling
from app.errors import LoreweaverError
from app.home import Home
from app.memory.store import ChatStore
from app.sheets import library

if TYPE_CHECKING:
    from app.engine.llamacpp import LlamaEngine


def _greedy(seed: int = 1, max_tokens: int = 24) -> Sampling:
    return Sampling(temperature=0.9, seed=seed, max_tokens=max_tokens)


def test_alternate_greetings_are_the_first_messages_swipes(
    engine: LlamaEngine, lw_home: Home, store: ChatStore
) -> None:
    session = start_brenna(engine, lw_home, store, user="Ann")
    _, sheet = library.load(lw_home, "brenna")
    assert session.swipe_position(0) == (1, 2)
    assert session.history[0].content == sheet.first_message.strip().replace("{{user}}", "Ann")
    assert session.swipe(1, 0) == (2, 2)
    assert session.history[0].content == sheet.alternate_greetings[0].strip()
    with pytest.raises(LoreweaverError, match="no more swipes"):
        session.swipe(1, 0)
    with pytest.raises(LoreweaverError, match="greeting"):
        session.regenerate(_greedy())


def test_a_reply_read_in_frames_is_stored_whole(
    engine: LlamaEngine, lw_home: Home, store: ChatStore
) -> None:
    session = start_brenna(engine, lw_home, store)
    reply = session.send("How much for a dagger?", _greedy(1, 40))
    frames = list(reply.frames(0.05))
    kept = reply.finish()
    assert kept == "".join(frames).strip() and kept
    assert not kept.startswith("Brenna:")
    assert session.history[-1].content == kept
    assert store.swipes(session.ids[-1])[0].content == kept
    assert len(frames) < reply.stats.completion_tokens


def test_regenerate_keeps_both_replies_as_swipes(
    engine: LlamaEngine, lw_home: Home, store: ChatStore
) -> None:
    session = start_brenna(engine, lw_home, store)
    first = session.send("How much for a dagger?", _greedy(1)).finish()
    assert session.history[-1].content == first
    second_reply = session.regenerate(_greedy(2))
    second = second_reply.finish()
    assert second and second != first
    assert session.swipe_position() == (2, 2)
    assert [m.role for m in session.history] == ["assistant", "user", "assistant"]
    assert session.swipe(-1) == (1, 2)
    assert session.history[-1].content == first
    # both replies are stored under the same user line, with their own metadata
    replies = store.swipes(session.ids[-1])
    assert [r.content for r in replies] == [first, second]
    assert {r.meta["seed"] for r in replies} == {1, 2}


def test_continue_extends_the_same_message(
    engine: LlamaEngine, lw_home: Home, store: ChatStore
) -> None:
    session = start_brenna(engine, lw_home, store)
    start = session.send("Tell me about your forge.", _greedy(3, 12)).finish()
    message_id = session.ids[-1]
    longer = session.continue_reply(_greedy(4, 16)).finish()
    assert longer.startswith(start) and len(longer) > len(start)
    assert session.ids[-1] == message_id
    assert store.get_message(message_id).content == longer
    assert len(session.history) == 3


def test_edit_delete_and_reply_to_the_users_line(
    engine: LlamaEngine, lw_home: Home, store: ChatStore
) -> None:
    session = start_brenna(engine, lw_home, store)
    session.send("Do you sell horseshoes?", _greedy(5)).finish()
    user_id = session.ids[-2]
    session.edit(-2, "Do you sell nails?")
    assert session.history[-2].content == "Do you sell nails?"
    assert store.versions(user_id) == ["Do you sell horseshoes?", "Do you sell nails?"]
    with pytest.raises(LoreweaverError, match="nothing"):
        session.edit(-1, "   ")
    session.delete(-1)
    assert session.history[-1].role == "user" and session.ids[-1] == user_id
    reply = session.regenerate(_greedy(6)).finish()
    assert reply and session.history[-1].content == reply
    assert store.get_message(session.ids[-1]).parent_id == user_id


def test_branch_starts_a_new_chat_and_leaves_the_old_one(
    engine: LlamaEngine, lw_home: Home, store: ChatStore
) -> None:
    session = start_brenna(engine, lw_home, store)
    session.send("First question.", _greedy(7)).finish()
    original = session.chat
    assert original is not None
    before = [m.content for m in store.active_path(original.id)]
    chat = session.branch(1)
    assert chat.id != original.id and session.chat is not None and session.chat.id == chat.id
    assert [m.content for m in session.history] == before[:2]
    session.send("A different second line.", _greedy(8)).finish()
    assert [m.content for m in store.active_path(original.id)] == before


def test_impersonate_drafts_without_storing(
    engine: LlamaEngine, lw_home: Home, store: ChatStore
) -> None:
    session = start_brenna(engine, lw_home, store)
    assert session.chat is None  # a new chat is stored at its first line, not before
    draft = session.impersonate(_greedy(9, 20))
    for _ in draft:
        pass
    assert draft.text.strip()
    assert store.list_chats() == []
    assert len(session.history) == 1


def test_persona_is_kept_with_the_chat(
    engine: LlamaEngine, lw_home: Home, store: ChatStore
) -> None:
    session = start_brenna(engine, lw_home, store)
    session.set_persona("Wren", "A travelling tinker with a limp.")
    assert "Wren" in session.prompt("Hello.")
    session.send("Hello.", _greedy(1, 4)).finish()  # the new chat is stored with its persona
    again = start_brenna(engine, lw_home, store, resume=True)
    assert again.user == "Wren"
    assert again.user_description == "A travelling tinker with a limp."
    with pytest.raises(LoreweaverError, match="name"):
        again.set_persona("  ")


def test_chat_commands_work_in_a_pipe(lw_home: Home) -> None:
    script = "How much for a dagger?\n/regen\n/left\n/bogus\n/continue\n/help\n"
    result = run_cli("chat", "brenna", "--seed", "3", "--max-tokens", "16", stdin=script)
    assert result.returncode == 0, result.stderr
    assert "swipe 1/2" in result.stdout
    assert "/impersonate" in result.stdout  # the help list
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert errors == ["loreweaver: error: unknown chat command '/bogus' (try /help)"]
    listed = run_cli("chats", "show", "1", "--json")
    assert listed.returncode == 0


@pytest.mark.parametrize(
    ("pieces", "expected"),
    [
        (["Bren", "na: Aye", ", lad."], "Aye, lad."),
        ([" Brenna:", " Two silver."], "Two silver."),
        (["Bre", "akfast is", " ready."], "Breakfast is ready."),
        (["Aye, ", "Brenna: is my name"], "Aye, Brenna: is my name"),
        (["Bren"], "Bren"),
        (["Brenna:"], ""),
        ([], ""),
    ],
)
def test_a_leading_speaker_label_is_dropped(pieces: list[str], expected: str) -> None:
    from app.reply import without_speaker

    assert "".join(without_speaker(iter(pieces), "Brenna")) == expected
