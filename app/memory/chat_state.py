"""The NPC's state in one chat: the sheet's typed state variables and its relationships' trust.

The sheet gives each its type and starting value; a chat keeps its own current values in its
metadata (`state`: name → value, `trust`: relationship name as the sheet spells it → number), so
a test chat can move them without touching the sheet. A value typed by the user is parsed by the
variable's type and checked against its range (`min`/`max` on the variable, −100…100 for trust);
a bad one is one error naming the variable. Values that no longer fit the sheet (it was edited)
read as the sheet's default.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from app.errors import LoreweaverError
from app.sheets.macros import substitute
from app.sheets.sheet import Relationship, Sheet, StateVar, VarType

STATE_META = "state"
TRUST_META = "trust"
TRUST_PREFIX = "trust:"
"""`trust:NAME` names a relationship's trust where a state variable's name would go."""
TRUST_RANGE = (-100, 100)
MAX_TEXT_VALUE = 2000
"""A text variable rides in every prompt: keep it a note, not a chapter."""
TRUE_WORDS = {"true", "yes", "on", "1"}
FALSE_WORDS = {"false", "no", "off", "0"}

Value = int | float | bool | str


@dataclass(frozen=True)
class StateEntry:
    """One editable value as a panel or `chats state` shows it."""

    key: str
    """What `set_state` takes: the variable's name, or `trust:` and the relationship's name."""
    label: str
    type: VarType
    value: Value
    default: Value
    description: str = ""
    low: float | None = None
    high: float | None = None
    aliases: tuple[str, ...] = ()
    """Other keys that name it: `trust:{{user}}` and `trust:user` for the player."""

    @property
    def changed(self) -> bool:
        return self.value != self.default

    def shown(self) -> str:
        if self.key.startswith(TRUST_PREFIX):
            return f"{int(self.value):+d}"
        return str(self.value).lower() if isinstance(self.value, bool) else str(self.value)


def _bound(var: StateVar, name: str) -> float | None:
    """A `min`/`max` the designer put on the variable (the sheet keeps unknown keys)."""
    extra = var.model_extra or {}
    value = extra.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


def _fits(value: object, kind: VarType, low: float | None, high: float | None) -> bool:
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "text":
        return isinstance(value, str)
    if isinstance(value, bool) or not isinstance(value, int if kind == "int" else int | float):
        return False
    return (low is None or value >= low) and (high is None or value <= high)


def _saved(meta: dict[str, Any], key: str) -> dict[str, Any]:
    found = meta.get(key)
    return found if isinstance(found, dict) else {}


def _trust_label(relation: Relationship, char: str, user: str) -> str:
    return substitute(relation.name, char=char, user=user)


def state_entries(sheet: Sheet, meta: dict[str, Any], *, user: str) -> list[StateEntry]:
    """Every state variable, then every relationship's trust, with the chat's current values."""
    entries: list[StateEntry] = []
    saved = _saved(meta, STATE_META)
    for var in sheet.state:
        low, high = _bound(var, "min"), _bound(var, "max")
        default = var.default if var.default is not None else ""
        value = saved.get(var.name, default)
        entries.append(
            StateEntry(
                var.name,
                var.name,
                var.type,
                value if _fits(value, var.type, low, high) else default,
                default,
                var.description,
                low,
                high,
            )
        )
    trust = _saved(meta, TRUST_META)
    for relation in sheet.relationships:
        value = trust.get(relation.name, relation.trust)
        label = _trust_label(relation, sheet.name, user)
        player = relation.name.strip().casefold() == "{{user}}"
        entries.append(
            StateEntry(
                f"{TRUST_PREFIX}{label}",
                f"trust with {label}",
                "int",
                value if _fits(value, "int", *TRUST_RANGE) else relation.trust,
                relation.trust,
                relation.kind,
                *TRUST_RANGE,
                (f"{TRUST_PREFIX}{{{{user}}}}", f"{TRUST_PREFIX}user") if player else (),
            )
        )
    return entries


def prompt_state(sheet: Sheet, meta: dict[str, Any], *, user: str) -> dict[str, object]:
    """What the per-turn notes say: every state variable, and trust that moved in this chat."""
    notes: dict[str, object] = {}
    for entry in state_entries(sheet, meta, user=user):
        if not entry.key.startswith(TRUST_PREFIX):
            notes[entry.label] = entry.value
        elif entry.changed:
            notes[f"{entry.label} (now)"] = entry.shown()
    return notes


def parse_value(entry: StateEntry, raw: str) -> Value:
    """`raw` as the entry's type, inside its range; one clear error otherwise."""
    text = raw.strip()
    what = f"{entry.label} is {entry.type}"
    if entry.type == "text":
        if len(raw) > MAX_TEXT_VALUE:
            raise LoreweaverError(f"{entry.label} is at most {MAX_TEXT_VALUE} characters")
        return raw
    if entry.type == "bool":
        if text.lower() in TRUE_WORDS:
            return True
        if text.lower() in FALSE_WORDS:
            return False
        raise LoreweaverError(f"{what}: give true or false, not {text!r}")
    try:
        value: int | float = int(text) if entry.type == "int" else float(text)
    except ValueError:
        word = "a whole number" if entry.type == "int" else "a number"
        raise LoreweaverError(f"{what}: give {word}, not {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise LoreweaverError(f"{what}: give a finite number, not {text!r}")
    if (entry.low is not None and value < entry.low) or (
        entry.high is not None and value > entry.high
    ):
        raise LoreweaverError(
            f"{entry.label} must be between {_num(entry.low)} and {_num(entry.high)}, got {text}"
        )
    return value


def _num(bound: float | None) -> str:
    if bound is None:
        return "any"
    return str(int(bound)) if float(bound).is_integer() else str(bound)


def find_entry(entries: list[StateEntry], name: str) -> StateEntry:
    """The entry `name` means: a variable's name, or `trust:` + a relationship (any case)."""
    wanted = name.strip()
    found = next((e for e in entries if e.key == wanted), None) or next(
        (e for e in entries if wanted.casefold() in {k.casefold() for k in (e.key, *e.aliases)}),
        None,
    )
    if found is not None:
        return found
    known = ", ".join(e.key for e in entries) or "none: the sheet declares no state"
    raise LoreweaverError(f"no state variable or relationship {wanted!r} (known: {known})")


def state_update(
    sheet: Sheet, meta: dict[str, Any], name: str, raw: str, *, user: str
) -> tuple[dict[str, Any], StateEntry]:
    """The metadata keys to merge for `name = raw`, and the entry with its new value."""
    entry = find_entry(state_entries(sheet, meta, user=user), name)
    value = parse_value(entry, raw)
    if entry.key.startswith(TRUST_PREFIX):
        label = entry.key.removeprefix(TRUST_PREFIX)
        relation = next(
            r for r in sheet.relationships if _trust_label(r, sheet.name, user) == label
        )
        update = {TRUST_META: {**_saved(meta, TRUST_META), relation.name: value}}
    else:
        update = {STATE_META: {**_saved(meta, STATE_META), entry.key: value}}
    return update, replace(entry, value=value)
