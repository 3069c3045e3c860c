"""Untrusted JSON bytes → a plain dict, or one line saying where the bytes went wrong.

Cards arrive as `.json` files, inside PNG text chunks and inside CHARX zips; all three end here so
they share one size cap, one nesting cap and one wording for UTF-8 and JSON errors.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from app.errors import LoreweaverError
from app.untrusted import NumberOutOfRange, finite_float, scrubbed

UTF8_BOM = b"\xef\xbb\xbf"
# Cards are a few levels deep; a cap far above that keeps hostile nesting from reaching the
# recursion limit of whatever walks the dict next (pydantic, YAML dump).
MAX_DEPTH = 64


class _NonStandardConstant(ValueError):
    """NaN / Infinity: Python's json accepts them, JSON (and every other card reader) does not."""


def _reject_constant(name: str) -> Any:
    raise _NonStandardConstant(name)


def nesting_depth(value: object) -> int:
    """How deep lists and dicts nest inside `value` (iterative: safe on any input)."""
    deepest = 0
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: list[object] = list(item.values())
        elif isinstance(item, list):
            children = list(item)
        else:
            continue
        depth += 1
        deepest = max(deepest, depth)
        if depth > MAX_DEPTH:
            return depth
        stack.extend((child, depth) for child in children)
    return deepest


def type_word(value: object) -> str:
    """`an array`, `a string`… — JSON's names for what a user put where an object belongs."""
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if value is None:
        return "null"
    return f"a {type(value).__name__}"


def decode_utf8(data: bytes, path: Path, *, what: str = "the file") -> str:
    """Strict UTF-8 (a leading BOM is dropped); the error names the first bad byte's offset."""
    skip = len(UTF8_BOM) if data.startswith(UTF8_BOM) else 0
    try:
        return data[skip:].decode("utf-8")
    except UnicodeDecodeError as err:
        raise LoreweaverError(
            f"invalid UTF-8 at byte {err.start + skip} of {what}", path=path
        ) from None


def parse_json_bytes(
    data: bytes, path: Path, *, limit: int, what: str = "the file"
) -> dict[str, Any]:
    """Decode UTF-8 (a leading BOM is tolerated) and parse one JSON object of at most `limit` bytes.

    `what` names the text in messages (`the 'ccv3' chunk`, `card.json`) when the bytes are part of
    a larger file; positions are byte offsets into `data`, or line/column in the decoded text.
    """
    if len(data) > limit:
        raise LoreweaverError(
            f"{what} is {len(data):,} bytes, over the {limit:,}-byte limit", path=path
        )
    text = decode_utf8(data, path, what=what)
    try:
        value = json.loads(text, parse_constant=_reject_constant, parse_float=finite_float)
    except json.JSONDecodeError as err:
        raise LoreweaverError(
            f"invalid JSON at line {err.lineno} column {err.colno} of {what}: {err.msg}", path=path
        ) from None
    except RecursionError:
        raise LoreweaverError(f"{what} is nested too deeply", path=path) from None
    except _NonStandardConstant as err:
        raise LoreweaverError(
            f"invalid JSON in {what}: {err} is not a JSON value", path=path
        ) from None
    except NumberOutOfRange as err:
        raise LoreweaverError(f"invalid JSON in {what}: {err}", path=path) from None
    except ValueError:
        # Integers past Python's int/str conversion limit (4300 digits).
        raise LoreweaverError(
            f"invalid JSON in {what}: a number has too many digits", path=path
        ) from None
    if not isinstance(value, dict):
        raise LoreweaverError(
            f"{what} must hold a JSON object, found {type_word(value)}", path=path
        )
    if nesting_depth(value) > MAX_DEPTH:
        raise LoreweaverError(f"{what} nests deeper than {MAX_DEPTH} levels", path=path)
    return scrubbed(value, path)
