"""The NPC's state and trust per chat: typed, range-checked, stored in SQLite, in the prompt."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from app.errors import LoreweaverError
from app.home import Home
from app.memory.chat_state import find_entry, parse_value, state_entries, state_update
from app.memory.store import ChatStore
from app.models import resolve_model
from app.prompts.formats import choose_format
from app.session_start import start_session
from app.settings import Settings
from app.sheets import library
from app.sheets.sheet import Sheet

if TYPE_CHECKING:
    from app.engine.llamacpp import LlamaEngine


def _sheet() -> Sheet:
    return Sheet.model_validate(
        {
            "name": "Orla",
            "state": [
                {"name": "gold", "type": "int", "default": 5, "min": 0, "max": 100},
                {"name": "mood", "type": "text", "default": "calm"},
                {"name": "angry", "type": "bool"},
                {"name": "heat", "type": "float", "default": 0.5},
            ],
            "relationships": [
                {"name": "{{user}}", "kind": "customer", "trust": 10},
                {"name": "Old Tam", "trust": -20},
            ],
        }
    )


def test_entries_list_variables_then_trust_with_the_chat_values() -> None:
    meta = {"state": {"gold": 7}, "trust": {"{{user}}": 40}}
    entries = state_entries(_sheet(), meta, user="Ann")
    assert [(e.key, e.value) for e in entries] == [
        ("gold", 7),
        ("mood", "calm"),
        ("angry", False),
        ("heat", 0.5),
        ("trust:Ann", 40),
        ("trust:Old Tam", -20),
    ]


@pytest.mark.parametrize(
    ("name", "raw", "value"),
    [
        ("gold", "0", 0),
        ("gold", " 100 ", 100),
        ("angry", "yes", True),
        ("angry", "FALSE", False),
        ("heat", "1.25", 1.25),
        ("mood", "furious now", "furious now"),
        ("trust:user", "-100", -100),
        ("trust:{{user}}", "55", 55),
        ("TRUST:old tam", "3", 3),
        ("Gold", "4", 4),
    ],
)
def test_good_values_parse_by_type(name: str, raw: str, value: object) -> None:
    update, entry = state_update(_sheet(), {}, name, raw, user="Ann")
    assert entry.value == value and type(entry.value) is type(value)
    again = state_entries(_sheet(), update, user="Ann")
    assert find_entry(again, name).value == value


@pytest.mark.parametrize(
    ("name", "raw", "words"),
    [
        ("gold", "101", "between 0 and 100"),
        ("gold", "-1", "between 0 and 100"),
        ("gold", "2.5", "whole number"),
        ("gold", "lots", "whole number"),
        ("angry", "maybe", "true or false"),
        ("heat", "nan", "finite"),
        ("heat", "inf", "finite"),
        ("trust:Ann", "101", "between -100 and 100"),
        ("trust:Ann", "", "whole number"),
        ("nothing", "1", "no state variable or relationship 'nothing'"),
    ],
)
def test_bad_values_are_one_clear_error(name: str, raw: str, words: str) -> None:
    with pytest.raises(LoreweaverError) as caught:
        state_update(_sheet(), {}, name, raw, user="Ann")
    assert words in str(caught.value) and "\n" not in str(caught.value)


def test_values_the_sheet_no_longer_allows_read_as_the_default() -> None:
    meta = {"state": {"gold": 500, "angry": "yes", "mood": 3}, "trust": {"Old Tam": 900}}
    values = {e.key: e.value for e in state_entries(_sheet(), meta, user="Ann")}
    assert values["gold"] == 5 and values["angry"] is False and values["mood"] == "calm"
    assert values["trust:Old Tam"] == -20
    entry = find_entry(state_entries(_sheet(), {}, user="Ann"), "gold")
    assert parse_value(entry, "9") == 9


def test_state_and_moved_trust_reach_the_prompt_and_are_kept_per_chat(
    engine: LlamaEngine,
    lw_home: Home,
    store: ChatStore,
) -> None:
    info = resolve_model(lw_home, None)
    _, sheet = library.load(lw_home, "brenna")
    fmt = choose_format(None, info)
    session = start_session(
        engine, info, fmt, sheet, "brenna", Settings(), user="Ann", store=store, summaries=False
    )
    assert session.saved_chat() is not None and session.chat is not None
    tail = session.messages("Hi.")[-1].content
    assert "trust = 0" in tail and "trust with Ann" not in tail
    session.set_state("trust", "3")
    session.set_state("trust:user", "25")
    tail = session.messages("Hi.")[-1].content
    assert "trust = 3" in tail and "trust with Ann (now) = +25" in tail
    again = start_session(
        engine,
        info,
        fmt,
        sheet,
        "brenna",
        Settings(),
        store=store,
        resume=session.chat.id,
        summaries=False,
    )
    assert {e.key: e.value for e in again.state()}["trust:Ann"] == 25
    other = start_session(
        engine, info, fmt, sheet, "brenna", Settings(), user="Ann", store=store, summaries=False
    )
    assert {e.key: e.value for e in other.state()}["trust"] == 0
    with pytest.raises(LoreweaverError, match="sword_sold is bool"):
        session.set_state("sword_sold", "2")
    assert store.get_chat(session.chat.id).meta["state"] == {"trust": 3}
