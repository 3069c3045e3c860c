"""Applying a structured reply's state changes, and the state a point of the chat tree has.

A reply sets state variables (by type, clamped to the variable's `min`/`max`) and moves trust
(each move clamped to `trust_step`, the result to −100…100). What it applied is stored in the
reply's own message metadata (`npc`), with the state after it (`npc.meta`, shaped as the chat
metadata's `state`/`trust`), so a swipe or a branch carries its own state: the state at a point
is the chat's values overlaid with the last structured reply on the path to it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from app.memory.chat_state import (
    MAX_TEXT_VALUE,
    STATE_META,
    TRUST_META,
    TRUST_PREFIX,
    TRUST_RANGE,
    StateEntry,
    Value,
)
from app.npc.schema import trust_key

NPC_META = "npc"
"""The message-metadata key of a structured reply's annotations."""
OVERLAY = "meta"
"""Under `npc`: the chat-metadata keys (`state`, `trust`) after this reply."""


def _clamp(value: float, low: float | None, high: float | None) -> float:
    if low is not None:
        value = max(low, value)
    if high is not None:
        value = min(high, value)
    return value


def bounded(entry: StateEntry, value: object) -> Value | None:
    """`value` as the entry's type, inside its range; None when it is not of that type."""
    if entry.type == "bool":
        return value if isinstance(value, bool) else None
    if entry.type == "text":
        return value[:MAX_TEXT_VALUE] if isinstance(value, str) else None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return None
    number = _clamp(value, entry.low, entry.high)
    return round(number) if entry.type == "int" else float(number)


def apply_changes(
    entries: list[StateEntry],
    reply: dict[str, Any],
    chat_meta: dict[str, Any],
    *,
    trust_step: int,
    relation_of: Callable[[str], str],
    effects: dict[str, Any] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The changes `reply` makes to the current `entries` (each as key/from/to/asked), and the
    `state`/`trust` metadata after them. `relation_of` maps a trust key to the sheet's
    relationship name; `effects` are the values the chosen action sets (they win). Unknown
    keys cannot occur (the grammar allows only declared ones) and are skipped all the same."""
    by_key = {e.key: e for e in entries}
    by_trust = {trust_key(e.key): e for e in entries if e.key.startswith(TRUST_PREFIX)}
    state = dict(_mapping(chat_meta, STATE_META))
    trust = dict(_mapping(chat_meta, TRUST_META))
    changes: list[dict[str, Any]] = []
    asked_state = {**_mapping(reply, "state"), **(effects or {})}
    for name, asked in asked_state.items():
        entry = by_key.get(name)
        if entry is None or name.startswith(TRUST_PREFIX):
            continue
        value = bounded(entry, asked)
        if value is None or value == entry.value:
            continue
        state[name] = value
        changes.append({"key": name, "from": entry.value, "to": value, "asked": asked})
    for label, asked in _mapping(reply, "trust").items():
        entry = by_trust.get(label)
        if entry is None or isinstance(asked, bool) or not isinstance(asked, int):
            continue
        step = int(_clamp(asked, -trust_step, trust_step))
        value = int(_clamp(int(entry.value) + step, *TRUST_RANGE))
        if value == entry.value:
            continue
        trust[relation_of(label)] = value
        changes.append({"key": entry.key, "from": entry.value, "to": value, "asked": asked})
    return changes, {STATE_META: state, TRUST_META: trust}


def _mapping(data: dict[str, Any], key: str) -> dict[str, Any]:
    found = data.get(key)
    return found if isinstance(found, dict) else {}


def path_meta(chat_meta: dict[str, Any], newest_first: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The chat metadata as state reads it at the end of a path: `newest_first` are its
    replies' metadata, read only up to the last structured reply (its state after wins)."""
    for meta in newest_first:
        overlay = _mapping(_mapping(meta, NPC_META), OVERLAY)
        if overlay:
            return {**chat_meta, **{k: v for k, v in overlay.items() if isinstance(v, dict)}}
    return chat_meta
