"""Turn pydantic validation errors into the one line a designer can act on."""

from __future__ import annotations

from pydantic import ValidationError

_TYPE_WORDS = {
    "str": "text",
    "string": "text",
    "int": "a whole number",
    "integer": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "boolean": "true or false",
    "list": "a list",
    "dict": "a mapping",
    "NoneType": "empty",
}


def _type_name(value: object) -> str:
    return _TYPE_WORDS.get(type(value).__name__, type(value).__name__)


def field_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def describe(error: ValidationError) -> str:
    """`goals[2]: must be text, got a list` for the first error, `(+N more)` for the rest."""
    errors = error.errors(include_url=False)
    first = errors[0]
    loc = field_path(tuple(first.get("loc", ())))
    kind = first.get("type", "")
    value = first.get("input")
    if kind == "missing":
        text = "is required"
    elif kind.endswith("_type") or kind.endswith("_parsing"):
        wanted = _TYPE_WORDS.get(kind.split("_")[0], kind.split("_")[0])
        text = f"must be {wanted}, got {_type_name(value)}"
    elif kind == "extra_forbidden":
        text = "is not a known field"
    else:
        text = first.get("msg", "is invalid").rstrip(".")
        text = text.removeprefix("Value error, ").replace("Input should be", "must be")
        text = text[0].lower() + text[1:] if text else "is invalid"
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    # A whole-model check names its own field in `text`.
    return f"{text}{more}" if not first.get("loc") else f"{loc}: {text}{more}"
