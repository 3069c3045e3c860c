"""The JSON Schema of one structured reply, built from what the sheet declares.

    {"line": what is said, "emotion": one of the set,
     "action": {"name": a declared action, "args": {…typed…}}   (optional)
     "state": {variable: new value}                              (optional)
     "trust": {relationship: change}}                            (optional)

Every string has a length limit, so a reply has a longest form (`max_bytes`): a generation
given that many tokens always completes the JSON (every token adds at least one byte).
"""

from __future__ import annotations

import json
import re
from typing import Any

from app.memory.chat_state import TRUST_PREFIX, StateEntry
from app.npc.config import ActionDecl, StructuredConfig, fail
from app.sheets.sheet import Sheet

JSON_TYPES = {"int": "integer", "float": "number", "bool": "boolean"}
ENFORCED = {
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "minItems",
    "maxItems",
    "enum",
    "const",
    "anyOf",
    "oneOf",
    "minLength",
    "maxLength",
    "pattern",
    "description",
    "title",
}
"""The JSON Schema keywords llama.cpp's converter turns into grammar; it ignores the others
(`minimum`, `format`, …), so a fragment using them would not be enforced."""
ONE_CLASS = r"\^\[(?:\\.|[^\]\\])*\]\{0,(\d+)\}\$"
"""A pattern of one character class repeated at most N times: N characters."""
SCALAR_BYTES = {"integer": 18, "number": 54, "boolean": 6, "null": 5}


def text_schema(max_chars: int) -> dict[str, Any]:
    """Text of at most `max_chars` characters. A maxLength, not a `{0,N}` pattern: llama.cpp
    samples the pattern's nested form over ten times slower (measured here: 1.2 s against
    0.09 s per token for 48 characters on the bundled model)."""
    return {"type": "string", "maxLength": max_chars}


def value_schema(kind: str, max_chars: int) -> dict[str, Any]:
    """A state variable's or an argument's type word as a schema."""
    return text_schema(max_chars) if kind == "text" else {"type": JSON_TYPES[kind]}


def _fragment(sheet: Sheet, where: str, schema: Any) -> dict[str, Any]:
    """A designer's JSON Schema fragment, refused when llama.cpp could not enforce all of it."""
    if not isinstance(schema, dict):
        raise fail(sheet, where, "a schema must be a mapping")
    for key, value in schema.items():
        if key not in ENFORCED:
            raise fail(sheet, where, f"llama.cpp grammars cannot enforce {key!r}")
        if key == "properties" and isinstance(value, dict):
            for name, sub in value.items():
                _fragment(sheet, f"{where}.{name}", sub)
        elif key == "items":
            _fragment(sheet, f"{where}.items", value)
        elif key in ("anyOf", "oneOf") and isinstance(value, list):
            for i, sub in enumerate(value):
                _fragment(sheet, f"{where}.{key}[{i}]", sub)
    if max_bytes(schema) is None:
        raise fail(sheet, where, "has no length limit (give maxLength, maxItems or an enum)")
    return schema


def action_schema(sheet: Sheet, index: int, action: ActionDecl, cfg: StructuredConfig) -> dict:
    props: dict[str, Any] = {"name": {"const": action.name}}
    required = ["name"]
    if action.args:
        args = {
            name: value_schema(kind, cfg.text_max_chars)
            if isinstance(kind, str)
            else _fragment(sheet, f"actions[{index}].args.{name}", kind)
            for name, kind in action.args.items()
        }
        props["args"] = {
            "type": "object",
            "properties": args,
            "required": list(args),
            "additionalProperties": False,
        }
        required.append("args")
    return {
        "type": "object",
        "properties": props,
        "required": required,
        "additionalProperties": False,
    }


def reply_schema(
    sheet: Sheet, cfg: StructuredConfig, actions: list[ActionDecl], entries: list[StateEntry]
) -> dict[str, Any]:
    """The schema a reply must satisfy for this sheet and the chat's state `entries`."""
    props: dict[str, Any] = {
        "line": text_schema(cfg.line_max_chars),
        "emotion": {"enum": cfg.emotion_list},
    }
    if actions:
        props["action"] = {
            "anyOf": [action_schema(sheet, i, a, cfg) for i, a in enumerate(actions)]
        }
    variables = [e for e in entries if not e.key.startswith(TRUST_PREFIX)]
    if variables:
        props["state"] = _optional_object(
            {e.key: value_schema(e.type, cfg.text_max_chars) for e in variables}
        )
    trust = [trust_key(e.key) for e in entries if e.key.startswith(TRUST_PREFIX)]
    if len(set(trust)) != len(trust):
        raise fail(sheet, "relationships", "two relationships have the same name")
    if trust:
        props["trust"] = _optional_object({label: {"type": "integer"} for label in trust})
    return {
        "type": "object",
        "properties": props,
        "required": ["line", "emotion"],
        "additionalProperties": False,
    }


def trust_key(entry_key: str) -> str:
    """A relationship's key in a reply's `trust`: its name without quotes, backslashes or
    control characters (llama-cpp-python 0.3.16 writes such a key into the grammar unescaped,
    and llama.cpp then cannot parse it)."""
    name = entry_key.removeprefix(TRUST_PREFIX)
    kept = "".join(c for c in name if c not in '"\\' and c.isprintable())
    return " ".join(kept.split()) or "?"


def _optional_object(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "additionalProperties": False}


def max_bytes(schema: dict[str, Any]) -> int | None:
    """An upper bound on the UTF-8 length of any JSON text the grammar for `schema` allows
    (spaces included); None when it has none."""
    space = 1
    if "const" in schema:
        return _literal(schema["const"]) + space
    if "enum" in schema:
        return max((_literal(v) for v in schema["enum"]), default=0) + space
    for key in ("anyOf", "oneOf"):
        if key in schema:
            bounds = [max_bytes(s) for s in schema[key]]
            return None if not bounds or None in bounds else max(b for b in bounds if b)
    kind = schema.get("type")
    if kind == "string":
        chars = _string_chars(schema)
        return None if chars is None else 2 + 6 * chars + space
    if kind in SCALAR_BYTES:
        return SCALAR_BYTES[kind] + space
    if kind == "object":
        props = schema.get("properties")
        if not isinstance(props, dict) or schema.get("additionalProperties", True) is not False:
            return None
        total = 2 + 2 * space
        for name, sub in props.items():
            inner = max_bytes(sub)
            if inner is None:
                return None
            total += _literal(name) + 2 + 3 * space + inner
        return total
    if kind == "array" and isinstance(schema.get("maxItems"), int):
        inner = max_bytes(schema.get("items", {}))
        return None if inner is None else 2 + 2 * space + schema["maxItems"] * (inner + 1 + space)
    return None


def _string_chars(schema: dict[str, Any]) -> int | None:
    """The most characters a string schema allows: the `{0,N}` of a pattern (llama.cpp then
    ignores maxLength), else its maxLength."""
    pattern = schema.get("pattern")
    if pattern is not None:
        found = re.fullmatch(ONE_CLASS, pattern) if isinstance(pattern, str) else None
        return int(found.group(1)) if found else None
    limit = schema.get("maxLength")
    return limit if isinstance(limit, int) and not isinstance(limit, bool) else None


def _literal(value: object) -> int:
    return len(json.dumps(value, ensure_ascii=False).encode("utf-8"))
