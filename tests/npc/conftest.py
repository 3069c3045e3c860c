"""The NPC tests: a real chat store and the bundled model, and a sheet that declares actions,
typed state and relationships for structured replies."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.home import Home
from app.memory.store import ChatStore
from app.sheets.sheet import Sheet


@pytest.fixture
def store(lw_home: Home) -> Iterator[ChatStore]:
    opened = ChatStore.open(lw_home)
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The bundled SmolLM2, loaded once for every test that generates."""
    from app.engine.llamacpp import load_engine
    from app.engine.registry import resolve_model

    info = resolve_model(Home(Path(tmp_path_factory.mktemp("engine-home"))), None)
    loaded = load_engine(info, n_threads=2, n_ctx_cap=2048)
    yield loaded
    loaded.close()


def npc_data(**structured: Any) -> dict[str, Any]:
    """A guard with every kind of state variable, two relationships and three actions."""
    return {
        "name": "Gerd",
        "description": "{{char}} guards the north gate of Harrowford.",
        "first_message": "Halt. State your business.",
        "structured": {"line_max_chars": 48, "text_max_chars": 12, **structured},
        "actions": [
            {"name": "give_item", "args": {"item": "text"}},
            {"name": "open_gate", "sets": {"gate_open": True}},
            {"name": "attack", "args": {"target": "text"}},
        ],
        "state": [
            {"name": "gold", "type": "int", "default": 5, "min": 0, "max": 50},
            {"name": "alert", "type": "float", "default": 0.5, "min": 0, "max": 1},
            {"name": "gate_open", "type": "bool"},
            {"name": "mood", "type": "text", "default": "bored"},
        ],
        "relationships": [
            {"name": "{{user}}", "kind": "stranger", "trust": 0},
            {"name": "Old Tam", "trust": 95},
        ],
    }


@pytest.fixture
def npc() -> Sheet:
    return Sheet.model_validate(npc_data())
