"""Prompt layout: fixed part first, per-turn notes last, examples cut before turns."""

from __future__ import annotations

from app.memory.assembly import Turn, TurnNotes, Window, assemble
from app.sheets.sheet import Sheet

SHEET = Sheet(
    name="Brenna",
    description="{{char}} is a blacksmith who distrusts {{user}}.",
    first_message="Buying or browsing, {{user}}?",
    example_dialogues="<START>\n{{user}}: Price?\n{{char}}: Forty silver.",
)


def words(text: str) -> int:
    return len(text.split())


def test_layout_order_and_macros() -> None:
    turns = [Turn("assistant", "Buying or browsing, Ann?"), Turn("user", "Hello")]
    out = assemble(SHEET, turns, user="Ann", count=words, window=Window(n_ctx=4096, reserve=100))
    roles = [m.role for m in out.messages]
    assert roles == ["system", "assistant", "user"]
    assert "Brenna is a blacksmith who distrusts Ann." in out.messages[0].content
    assert "Ann: Price?" in out.messages[0].content
    assert out.messages[1].content == "Buying or browsing, Ann?"
    assert out.first_kept == 0 and not out.examples_cut


def test_per_turn_notes_ride_in_the_last_user_turn() -> None:
    notes = TurnNotes(lore=[("Ashen Pass", "The pass is closed by snow.")], state={"trust": 2})
    turns = [Turn("assistant", "Buying or browsing, Ann?"), Turn("user", "Open the pass?")]
    out = assemble(SHEET, turns, user="Ann", count=words, window=Window(4096, 100), notes=notes)
    last = out.messages[-1]
    assert last.role == "user" and last.content.startswith("Open the pass?")
    assert "The pass is closed by snow." in last.content and "trust = 2" in last.content
    assert "snow" not in out.messages[0].content


def test_examples_go_before_any_turn_is_evicted() -> None:
    history = [Turn("user" if i % 2 else "assistant", "word " * 20) for i in range(12)]
    window = Window(n_ctx=420, reserve=50, margin=0)
    out = assemble(SHEET, history, user="Ann", count=words, window=window)
    assert out.examples_cut
    assert "Forty silver" not in out.messages[0].content
    explained = {s.name: s for s in out.sections}
    assert explained["example dialogues"].lines == ["cut: the window is full (examples go first)"]


def test_oldest_turns_are_evicted_in_a_chunk_and_reported() -> None:
    history = [Turn("user" if i % 2 else "assistant", "word " * 20, id=i) for i in range(40)]
    out = assemble(SHEET, history, user="Ann", count=words, window=Window(600, 50, margin=0))
    assert out.first_kept > 1  # more than one turn at a time
    assert [t.id for t in out.evicted] == list(range(out.first_kept))
    assert out.estimated_tokens <= 600 - 50
    history_section = next(s for s in out.sections if s.name == "history")
    assert any("evicted" in line for line in history_section.lines)
