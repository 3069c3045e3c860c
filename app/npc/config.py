"""What a sheet declares for structured replies: the emotion set, the actions and their typed
arguments, the limits. Read from the sheet's own keys (`structured:`, `actions:`), which the
sheet model keeps as extra fields, so a sheet without them is untouched.

    structured:            # or `structured: true` for the defaults
      emotions: ekman      # a named set, or a list of words
      line_max_chars: 160
      trust_step: 10       # the most trust may move in one reply
    actions:
      - name: give_item
        args: {item: text}
      - name: open_gate
      - name: attack
        args: {target: text}

A bad declaration is one `LoreweaverError` line naming the character and the field.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from app.errors import LoreweaverError
from app.sheets.sheet import Sheet
from app.sheets.validation import describe

NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
EMOTION_SETS: dict[str, list[str]] = {
    "ekman": ["neutral", "happiness", "sadness", "fear", "anger", "surprise", "disgust"],
    "plutchik": [
        "neutral",
        "joy",
        "trust",
        "fear",
        "surprise",
        "sadness",
        "disgust",
        "anger",
        "anticipation",
    ],
}
"""Named emotion sets; the default is Ekman's six basic emotions plus neutral."""
ArgType = Literal["text", "int", "float", "bool"]


class ActionDecl(BaseModel):
    """One action the NPC may trigger, with its typed arguments (all required)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME)
    description: str = Field("", max_length=2000)
    args: dict[str, ArgType | dict[str, Any]] = Field(default_factory=dict, max_length=32)
    """Argument name → a type word, or a JSON Schema fragment llama.cpp can enforce."""
    sets: dict[str, int | float | bool | str] = Field(default_factory=dict, max_length=64)
    """State variables the action sets when the NPC takes it (`open_gate` → `gate_open: true`)."""

    @field_validator("args")
    @classmethod
    def _arg_names(cls, args: dict[str, object]) -> dict[str, object]:
        import re

        bad = next((name for name in args if not re.fullmatch(NAME, name)), None)
        if bad is not None:
            raise ValueError(f"argument name {bad!r} is not an identifier")
        return args


class StructuredConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    emotions: str | list[str] = "ekman"
    line_max_chars: int = Field(160, ge=1, le=1000)
    text_max_chars: int = Field(60, ge=1, le=1000)
    """Longest text argument or text state value a reply may set."""
    trust_step: int = Field(10, ge=1, le=200)

    @field_validator("emotions")
    @classmethod
    def _known_set(cls, emotions: str | list[str]) -> str | list[str]:
        if isinstance(emotions, str):
            if emotions not in EMOTION_SETS:
                known = ", ".join(EMOTION_SETS)
                raise ValueError(f"unknown emotion set {emotions!r} (known: {known})")
            return emotions
        words = [" ".join(w.split()) for w in emotions]
        if any(not w for w in words):
            raise ValueError("an emotion is empty")
        if not words:
            raise ValueError("the emotion set is empty")
        if any(not w.isprintable() or len(w) > 40 or '"' in w or "\\" in w for w in words):
            raise ValueError("each emotion is one short word or phrase, without quotes")
        if len(set(words)) != len(words):
            raise ValueError("an emotion is listed twice")
        return words

    @property
    def emotion_list(self) -> list[str]:
        emotions = self.emotions
        return EMOTION_SETS[emotions] if isinstance(emotions, str) else emotions


class NpcDeclaration(BaseModel):
    """The sheet's structured-reply keys, checked."""

    model_config = ConfigDict(extra="ignore")

    structured: StructuredConfig | None = None
    actions: list[ActionDecl] = Field(default_factory=list, max_length=64)

    @field_validator("structured", mode="before")
    @classmethod
    def _switch(cls, value: object) -> object:
        if isinstance(value, bool):
            return {"enabled": value}
        return value

    @field_validator("actions")
    @classmethod
    def _unique(cls, actions: list[ActionDecl]) -> list[ActionDecl]:
        names = [a.name for a in actions]
        twice = next((n for n in names if names.count(n) > 1), None)
        if twice is not None:
            raise ValueError(f"action {twice!r} is declared twice")
        return actions


def fail(sheet: Sheet, field: str, problem: str) -> LoreweaverError:
    """The one line for a bad declaration: character, field, problem."""
    return LoreweaverError(f"character {sheet.name!r}: {field}: {problem}")


def declaration(sheet: Sheet) -> NpcDeclaration:
    """The sheet's declaration, checked (a sheet without the keys gives the empty one)."""
    extra = sheet.model_extra or {}
    try:
        found = NpcDeclaration.model_validate(
            {k: extra[k] for k in ("structured", "actions") if k in extra}
        )
    except ValidationError as exc:
        text = describe(exc)
        field, _, problem = text.partition(": ")
        raise fail(sheet, field, problem or text) from None
    for i, action in enumerate(found.actions):
        for name, value in action.sets.items():
            _check_set(sheet, f"actions[{i}].sets.{name}", name, value)
    return found


def _check_set(sheet: Sheet, field: str, name: str, value: object) -> None:
    """An action's effect names a declared state variable and fits its type and range."""
    var = next((v for v in sheet.state if v.name == name), None)
    if var is None:
        known = ", ".join(v.name for v in sheet.state) or "none"
        raise fail(sheet, field, f"no state variable {name!r} is declared (declared: {known})")
    kinds: dict[str, type | tuple[type, ...]] = {
        "int": int,
        "float": (int, float),
        "bool": bool,
        "text": str,
    }
    if isinstance(value, bool) != (var.type == "bool") or not isinstance(value, kinds[var.type]):
        raise fail(sheet, field, f"{name} is {var.type}, got {value!r}")
    extra = var.model_extra or {}
    low, high = extra.get("min"), extra.get("max")
    if (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and (
            (isinstance(low, int | float) and value < low)
            or (isinstance(high, int | float) and value > high)
        )
    ):
        raise fail(sheet, field, f"{value!r} is outside {name}'s range {low}…{high}")


def structured_config(sheet: Sheet) -> StructuredConfig | None:
    """The structured-reply settings when the sheet opts in, else None."""
    config = declaration(sheet).structured
    return config if config is not None and config.enabled else None
