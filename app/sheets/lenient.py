"""Card fields the sheet cannot type as the card gives them: fitted where the meaning is plain,
kept as they were where it is not, so one odd field never costs a card SillyTavern imports.

SillyTavern reads cards loosely (a `personality` given as a list, a tag that is an object, a
`creation_date` written as its own date text). Here a list of texts where text belongs becomes
lines of text, a single text where a list belongs becomes a one-item list, a number becomes its
digits; anything else leaves its field empty and is kept, untouched, in `CardKept.untyped` (and
exported under `extensions.loreweaver.untyped`). One warning line says what was done. Only
what cannot be a card (no name) is refused.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from app.errors import LoreweaverError
from app.sheets.cards.jsonfile import type_word
from app.sheets.sheet import Sheet
from app.sheets.validation import describe
from app.untrusted import InputWarning

STRICT = frozenset({"character_book", "extensions"})
"""Fields with their own readers and messages: never fitted here."""


def _scalar(value: object) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def _fit(key: str, value: object, annotation: object) -> tuple[object, str, bool] | None:
    """The value made to fit the field's type, what was done, and whether the original must be
    kept too (something in it did not fit); None if nothing of it fits."""
    if annotation is str:
        if isinstance(value, list) and value and all(_scalar(item) for item in value):
            return "\n".join(str(item) for item in value), "a list, kept as lines of text", False
        if _scalar(value):
            return str(value), f"{type_word(value)}, kept as text", False
    elif annotation == list[str]:
        if isinstance(value, str) and key == "tags":  # SillyTavern's reading of tag text
            return (
                [t.strip() for t in value.split(",") if t.strip()],
                "text, split at commas",
                False,
            )
        if _scalar(value):
            return [str(value)], f"{type_word(value)}, kept as a one-item list", False
        if isinstance(value, list):
            odd = [
                f"[{i}] is {type_word(item)}" for i, item in enumerate(value) if not _scalar(item)
            ]
            texts = [str(item) for item in value if _scalar(item)]
            if not odd:
                return texts, "numbers kept as text", False
            return texts, f"{', '.join(odd)}: kept as it was, unused", True
    elif annotation == int | None and isinstance(value, str | float):
        try:
            return int(float(value)), f"{type_word(value)}, read as a number", False
        except (ValueError, OverflowError):
            return None
    return None


def sheet_from_fields(fields: dict[str, Any], source: Path | str) -> tuple[Sheet, dict[str, Any]]:
    """The sheet, and the card fields kept as the card had them (`CardKept.untyped`); one
    warning naming `source` says what was fitted or kept."""
    untyped: dict[str, Any] = {}
    notes: list[str] = []
    fitted_keys: set[str] = set()
    while True:
        try:
            sheet = Sheet.model_validate(fields)
            break
        except ValidationError as exc:
            wrong = sorted(
                {
                    key
                    for error in exc.errors(include_url=False)
                    if error["loc"] and error["type"].endswith(("_type", "_parsing"))
                    if (key := str(error["loc"][0])) in fields and key in Sheet.model_fields
                    if key not in STRICT | fitted_keys and key != "name"
                }
            )
            if not wrong:
                raise LoreweaverError(describe(exc)) from None
            fitted_keys.update(wrong)
            for key in wrong:
                value = fields.pop(key)
                fitted = _fit(key, value, Sheet.model_fields[key].annotation)
                if fitted is None:
                    untyped[key] = value
                    notes.append(f"{key} ({type_word(value)}) kept as it was, unused")
                    continue
                fields[key], what, keep = fitted
                notes.append(f"{key}{'' if what.startswith('[') else ': '}{what}")
                if keep:
                    untyped[key] = value
    if notes:
        warnings.warn(f"{source}: {'; '.join(notes)}", InputWarning, stacklevel=3)
    return sheet, untyped
