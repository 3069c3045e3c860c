"""Structured replies on the bundled model: every reply is valid JSON for the sheet's schema,
its state changes are applied within bounds and stored per message, a swipe keeps its own."""

from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING

import jsonschema
import pytest
from npc.npc_sheet import npc_data

from app.engine.base import Sampling
from app.home import Home
from app.memory.chat_state import TRUST_RANGE, state_entries
from app.memory.store import ChatStore
from app.models import resolve_model
from app.npc.state import NPC_META, OVERLAY
from app.npc.structured import reply_shape
from app.prompts.formats import choose_format
from app.prompts.segments import Prompt
from app.session import ChatSession
from app.session_start import start_session
from app.settings import Settings
from app.sheets.sheet import Sheet

if TYPE_CHECKING:
    from app.engine.llamacpp import LlamaEngine

ASK = Prompt.markup(
    "<|im_start|>system\nYou are Gerd, a gate guard. Answer in JSON.<|im_end|>\n"
    "<|im_start|>user\nLet me through the gate, and give me your sword!<|im_end|>\n"
    "<|im_start|>assistant\n"
)


def _session(engine: LlamaEngine, lw_home: Home, store: ChatStore, sheet: Sheet) -> ChatSession:
    info = resolve_model(lw_home, None)
    return start_session(
        engine,
        info,
        choose_format(None, info),
        sheet,
        "gerd",
        Settings(),
        user="Ann",
        store=store,
        summaries=False,
    )


def _bounded(values: dict[str, object]) -> None:
    gold, alert = values["gold"], values["alert"]
    assert isinstance(gold, int) and 0 <= gold <= 50
    assert isinstance(alert, int | float) and 0 <= alert <= 1
    assert isinstance(values["gate_open"], bool)
    assert isinstance(values["mood"], str)
    for key in ("trust:Ann", "trust:Old Tam"):
        trust = values[key]
        assert isinstance(trust, int | float) and TRUST_RANGE[0] <= trust <= TRUST_RANGE[1]


def test_fifty_replies_all_parse_against_the_schema_and_apply_within_bounds(
    engine: LlamaEngine,
) -> None:
    from app.npc.structured import StructuredGeneration

    npc = Sheet.model_validate(npc_data(line_max_chars=20, text_max_chars=8))  # short replies
    entries = state_entries(npc, {}, user="Ann")
    shape = reply_shape(npc, entries, engine)
    assert shape is not None
    emotions, actions, touched = Counter[str](), Counter[str](), Counter[str]()
    for seed in range(50):
        sampling = Sampling(temperature=0.9, seed=seed, max_tokens=shape.max_tokens)
        inner = engine.generate(ASK, sampling, grammar=shape.grammar)
        reply = StructuredGeneration(inner, shape, {}, "Ann")
        line = "".join(reply)
        assert inner.stats.finish_reason == "eos", inner.text  # the grammar ended it
        data = json.loads(inner.text)
        jsonschema.validate(data, shape.schema)
        assert line == data["line"]  # the stream showed exactly the spoken line
        note = reply.annotations()
        emotions[note["emotion"]] += 1
        actions[(note["action"] or {}).get("name", "-")] += 1
        after = state_entries(npc, note[OVERLAY], user="Ann")
        _bounded({e.key: e.value for e in after})
        for change in note["changes"]:
            touched[change["key"]] += 1
    print(f"emotions {dict(emotions)}; actions {dict(actions)}; changed {dict(touched)}")
    assert len(emotions) > 1  # the grammar constrains, it does not pin one answer


def test_changes_are_clamped_to_type_range_and_trust_step(npc: Sheet) -> None:
    from app.npc.state import apply_changes

    entries = state_entries(npc, {"trust": {"Old Tam": 95}}, user="Ann")
    reply = {
        "state": {"gold": 900, "alert": -3.5, "gate_open": "yes", "mood": "x" * 5000},
        "trust": {"Ann": -70, "Old Tam": 9},
        "action": {"name": "open_gate"},
    }
    changes, after = apply_changes(
        entries,
        reply,
        {},
        trust_step=10,
        relation_of={"Ann": "{{user}}", "Old Tam": "Old Tam"}.__getitem__,
        effects={"gate_open": True},
    )
    got = {c["key"]: c["to"] for c in changes}
    assert got["gold"] == 50 and got["alert"] == 0.0  # clamped to min/max
    assert got["gate_open"] is True  # the action's effect, not the mistyped "yes"
    assert len(got["mood"]) == 2000
    assert got["trust:Ann"] == -10  # one reply moves trust by at most trust_step
    assert got["trust:Old Tam"] == 100  # and the result stays in −100…100
    assert after["trust"] == {"{{user}}": -10, "Old Tam": 100}


def test_replies_store_their_annotations_and_a_swipe_has_its_own_state(
    engine: LlamaEngine,
    lw_home: Home,
    store: ChatStore,
    npc: Sheet,
) -> None:
    session = _session(engine, lw_home, store, npc)
    sampling = Sampling(seed=7, max_tokens=40)
    first = session.send("Open the gate!", sampling)
    shown = "".join(first)
    first.finish()
    stored = store.get_message(session.ids[-1])
    assert stored.meta is not None and npc.model_extra is not None
    note = stored.meta[NPC_META]
    assert stored.content == shown.strip() == json.loads(note["raw"])["line"].strip()
    assert note["emotion"] in npc.model_extra["structured"].get("emotions", []) or note["emotion"]
    # the state in force at this reply is its own: an edit here is kept with the message
    session.set_state("mood", "swipe-a")
    assert store.get_message(session.ids[-1]).meta[NPC_META][OVERLAY]["state"]["mood"] == "swipe-a"
    assert "mood = swipe-a" in session.messages("And now?")[-1].content  # fed back
    a_id = session.ids[-1]
    second = session.regenerate(Sampling(seed=8, max_tokens=40))
    second.finish()
    b_id = session.ids[-1]
    assert b_id != a_id
    mood_b = {e.key: e.value for e in session.state()}["mood"]
    assert mood_b != "swipe-a"  # B was made from the state before A, not A's
    session.swipe(-1)
    assert session.ids[-1] == a_id
    assert {e.key: e.value for e in session.state()}["mood"] == "swipe-a"
    session.swipe(1)
    assert {e.key: e.value for e in session.state()}["mood"] == mood_b
    assert session.chat is not None
    assert store.get_chat(session.chat.id).meta.get("state", {}).get("mood") is None


@pytest.mark.parametrize(
    "continuation",
    [
        '{"line": "Halt.", "emotion": "smug"}',  # not in the emotion set
        '{"line": "Halt.", "emotion": "anger", "action": {"name": "fly"}}',  # undeclared action
        '{"line": "Halt.", "emotion": "anger", "action": {"name": "attack", '
        '"args": {"target": 5}}}',  # an argument of the wrong type
        '{"line": "Halt.", "emotion": "anger", "state": {"silver": 3}}',  # undeclared variable
        '{"line": "Halt.", "emotion": "anger", "state": {"gold": "lots"}}',  # wrong type
        '{"line": "Halt.", "emotion": "anger", "mood": "x"}',  # a key the schema lacks
        '{"emotion": "anger", "line": "Halt."}',  # line must come first
        '{"line": "Halt.", "emotion": "anger"',  # not finished
        '{"line": "' + "a" * 49 + '", "emotion": "anger"}',  # longer than line_max_chars
        '{"line": "Halt.\nNow!", "emotion": "anger"}',  # a raw line break inside a string
    ],
)
def test_the_grammar_rejects_a_hand_made_invalid_continuation(
    engine: LlamaEngine,
    npc: Sheet,
    continuation: str,
) -> None:
    shape = reply_shape(npc, state_entries(npc, {}, user="Ann"), engine)
    assert shape is not None
    valid = (
        '{"line": "Halt.", "emotion": "anger", "action": {"name": "attack", "args": '
        '{"target": "Ann"}}, "state": {"gold": 7, "gate_open": true}, "trust": {"Ann": -5}}'
    )
    assert engine.grammar_accepts(shape.grammar, valid)
    jsonschema.validate(json.loads(valid), shape.schema)
    assert not engine.grammar_accepts(shape.grammar, continuation)
