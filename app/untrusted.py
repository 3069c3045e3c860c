"""Text and numbers parsed from untrusted files, made safe once, where they are read.

JSON's `\\ud800` escape and YAML's `"\\ud800"` both yield a lone UTF-16 surrogate: a Python `str`
that cannot be encoded as UTF-8, so it would fail much later, in SQLite, the tokenizer or an
export. Each is replaced with U+FFFD at the boundary and the reader is warned once per file.
JSON numbers such as `1e999` parse to infinity, which no card reader accepts back: refused.
"""

from __future__ import annotations

import math
import re
import warnings
from pathlib import Path
from typing import Any

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


class InputWarning(UserWarning):
    """Something in an input file was repaired on reading (the CLI prints it as one line)."""


class NumberOutOfRange(ValueError):
    """A JSON number beyond a float's range (`1e999`), which Python would read as infinity."""


def finite_float(text: str) -> float:
    """`parse_float` for `json.loads`: a number too large for a float is an error, not `inf`."""
    value = float(text)
    if not math.isfinite(value):
        raise NumberOutOfRange(f"number {text[:40]} is out of range")
    return value


def _clean(text: str) -> tuple[str, int]:
    return _LONE_SURROGATE.subn(REPLACEMENT, text)


def scrub(value: Any) -> tuple[Any, int]:
    """`value` with every lone surrogate in its strings (keys too) replaced; and how many.

    Iterative, so any nesting depth is safe; containers are rebuilt only when something changed.
    """
    if isinstance(value, str):
        return _clean(value)
    if not isinstance(value, dict | list):
        return value, 0
    total = 0
    stack: list[dict[str, Any] | list[Any]] = [value]
    while stack:
        item = stack.pop()
        pairs = list(item.items()) if isinstance(item, dict) else list(enumerate(item))
        for key, child in pairs:
            if isinstance(child, str):
                fixed, count = _clean(child)
                if count:
                    item[key] = fixed  # type: ignore[index]
                    total += count
            elif isinstance(child, dict | list):
                stack.append(child)
            if isinstance(item, dict) and isinstance(key, str):
                fixed_key, count = _clean(key)
                if count:
                    item[fixed_key] = item.pop(key)
                    total += count
    return value, total


def warn_replaced(count: int, source: Path | str) -> None:
    """One `InputWarning` naming `source` when `count` characters were replaced."""
    if count:
        warnings.warn(
            f"{source}: {count} invalid character(s) (lone UTF-16 surrogates) replaced with U+FFFD",
            InputWarning,
            stacklevel=3,
        )


def scrubbed(value: Any, source: Path | str) -> Any:
    """`scrub(value)`, warning once (naming `source`) when anything was replaced."""
    value, count = scrub(value)
    warn_replaced(count, source)
    return value


def first_non_finite(value: Any) -> str | None:
    """Where the first infinity or NaN sits in `value` (`state[0].default`), or None.

    YAML writes them `.inf` / `.nan` and JSON parsers may yield them; no card format can carry
    them, so sheets refuse them at validation rather than failing at export.
    """
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return where or "(top level)"
        if isinstance(item, dict):
            children = [(f"{where}.{key}" if where else str(key), v) for key, v in item.items()]
        elif isinstance(item, list):
            children = [(f"{where}[{i}]", v) for i, v in enumerate(item)]
        else:
            continue
        stack.extend(reversed(children))
    return None
