"""A guard NPC for the structured-reply tests: every kind of state variable, two
relationships and three actions (importable as `npc.npc_sheet`: `tests/` is on the path)."""

from __future__ import annotations

from typing import Any


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
