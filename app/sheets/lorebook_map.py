"""Lorebook dicts ⇄ `Lorebook`: a card's `character_book` and SillyTavern's world-info JSON.

SillyTavern reads an embedded book's settings from each entry's `extensions`
(`convertCharacterBook` in its `world-info.js`: `extensions.position`, `.depth`,
`.group_override`, `.case_sensitive`, `.delay_until_recursion`, `.automation_id`, …); import
reads them into typed fields and export writes them back there. A world-info file
(`{"entries": {"<uid>": {...}}}`) uses SillyTavern's own entry names (`key`, `keysecondary`,
`order`, `disable`, `groupOverride`, …). A setting a book does not carry (a budget, recursion)
is never written out: SillyTavern then applies its own settings, as Loreweaver does.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from app.errors import LoreweaverError
from app.sheets.lorebook import Lorebook, LoreEntry
from app.sheets.validation import describe

LOGIC = ["and_any", "not_all", "not_any", "and_all"]
POSITIONS = [
    "before_char",
    "after_char",
    "top_of_notes",
    "bottom_of_notes",
    "at_depth",
    "before_examples",
    "after_examples",
]
ROLES = ["system", "user", "assistant"]
# card entry `extensions` key → our field
ST_EXTENSIONS = {
    "depth": "depth",
    "probability": "probability",
    "group": "group",
    "group_weight": "group_weight",
    "sticky": "sticky",
    "cooldown": "cooldown",
    "delay": "delay",
    "exclude_recursion": "exclude_recursion",
    "prevent_recursion": "prevent_recursion",
    "delay_until_recursion": "delay_until_recursion",
    "scan_depth": "scan_depth",
    "match_whole_words": "match_whole_words",
    "group_override": "group_override",
    "use_group_scoring": "use_group_scoring",
    "automation_id": "automation_id",
    "ignore_budget": "ignore_budget",
}
# world-info entry name → card entry `extensions` key
WI_EXTENSIONS = {
    "depth": "depth",
    "probability": "probability",
    "useProbability": "useProbability",
    "group": "group",
    "groupWeight": "group_weight",
    "groupOverride": "group_override",
    "useGroupScoring": "use_group_scoring",
    "sticky": "sticky",
    "cooldown": "cooldown",
    "delay": "delay",
    "excludeRecursion": "exclude_recursion",
    "preventRecursion": "prevent_recursion",
    "delayUntilRecursion": "delay_until_recursion",
    "scanDepth": "scan_depth",
    "matchWholeWords": "match_whole_words",
    "caseSensitive": "case_sensitive",
    "automationId": "automation_id",
    "ignoreBudget": "ignore_budget",
    "selectiveLogic": "selectiveLogic",
    "position": "position",
    "role": "role",
    "displayIndex": "display_index",
    "vectorized": "vectorized",
}
# world-info entry name → card entry top-level field
WI_FIELDS = {
    "key": "keys",
    "keysecondary": "secondary_keys",
    "content": "content",
    "comment": "comment",
    "constant": "constant",
    "selective": "selective",
    "order": "insertion_order",
    "uid": "id",
}
BOOK_OPTIONAL = (
    "token_budget",
    "budget_percent",
    "recursive_scanning",
    "case_sensitive",
    "match_whole_words",
)


def _validate(data: dict[str, Any], where: str) -> Lorebook:
    try:
        return Lorebook.model_validate(data)
    except ValidationError as exc:
        raise LoreweaverError(f"{where}{describe(exc)}") from None


def entry_from_card(raw: dict[str, Any]) -> dict[str, Any]:
    """A card `character_book` entry → LoreEntry fields (SillyTavern's extensions read into
    fields; a position value we do not know stays in `extensions` as it came)."""
    entry = dict(raw)
    ext = entry.get("extensions")
    ext = dict(ext) if isinstance(ext, dict) else {}
    for key, field in ST_EXTENSIONS.items():
        value = ext.pop(key, None)
        if value is not None:
            entry.setdefault(field, value)
    case = ext.pop("case_sensitive", None)
    if case is not None:  # SillyTavern reads only this one, so it wins over the spec's field
        entry["case_sensitive"] = case
    for key, names, field in (
        ("selectiveLogic", LOGIC, "selective_logic"),
        ("position", POSITIONS, "position"),
        ("role", ROLES, "role"),
    ):
        value = ext.get(key)
        if value is None:
            ext.pop(key, None)
        elif isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(names):
            entry[field] = names[ext.pop(key)]
    if ext.pop("useProbability", None) is False:
        entry["probability"] = 100
    if entry.get("position") not in POSITIONS:
        entry.pop("position", None)
    entry["extensions"] = ext
    return entry


def entry_to_card(entry: LoreEntry) -> dict[str, Any]:
    data = entry.model_dump(mode="json")
    ext = dict(entry.extensions)
    for key, field in ST_EXTENSIONS.items():
        value = data.pop(field)
        if value is not None or key in ext:
            ext[key] = value
    if entry.case_sensitive is not None:
        ext["case_sensitive"] = entry.case_sensitive
    ext["selectiveLogic"] = LOGIC.index(data.pop("selective_logic"))
    if not (entry.position == "after_char" and "position" in ext):  # else: kept as it came
        ext["position"] = POSITIONS.index(entry.position)
    ext["role"] = ROLES.index(data.pop("role"))
    data["extensions"] = ext
    if entry.position not in ("before_char", "after_char"):
        data["position"] = "after_char"  # the card spec knows only these two
    return data


def lorebook_from_card(raw: dict[str, Any], where: str = "") -> Lorebook:
    """A card's `character_book`, a V3 `lorebook_v3`'s data or a world-info file's dict."""
    book = dict(raw)
    entries = book.get("entries", [])
    if isinstance(entries, dict):  # SillyTavern world-info: {"0": {...}, "1": {...}}
        entries = [st_entry(e) for e in entries.values() if isinstance(e, dict)]
    if not isinstance(entries, list):
        raise LoreweaverError(f"{where}entries: must be a list, got {type(entries).__name__}")
    book["entries"] = [entry_from_card(e) if isinstance(e, dict) else e for e in entries]
    return _validate(book, where)


def lorebook_to_card(book: Lorebook) -> dict[str, Any]:
    """A card's `character_book`: settings the book leaves unset are not written."""
    unset = {name for name in BOOK_OPTIONAL if getattr(book, name) is None}
    data = book.model_dump(mode="json", exclude={"entries", *unset})
    data["entries"] = [entry_to_card(entry) for entry in book.entries]
    return data


def st_entry(raw: dict[str, Any]) -> dict[str, Any]:
    """A SillyTavern world-info entry (its own field names) → card-style entry fields."""
    entry: dict[str, Any] = {field: raw[name] for name, field in WI_FIELDS.items() if name in raw}
    entry["enabled"] = not raw.get("disable", False)
    ext: dict[str, Any] = {key: raw[name] for name, key in WI_EXTENSIONS.items() if name in raw}
    known = {*WI_FIELDS, *WI_EXTENSIONS, "disable"}
    other = {k: v for k, v in raw.items() if k not in known}
    if other:  # kept as they came, written back on a world-info export
        ext["sillytavern"] = other
    entry["extensions"] = ext
    return entry


def lorebook_to_world_info(book: Lorebook) -> dict[str, Any]:
    """SillyTavern's world-info JSON: `entries` keyed by uid, each in SillyTavern's names."""
    entries: dict[str, Any] = {}
    used: set[int] = set()
    for index, entry in enumerate(book.entries):
        card = entry_to_card(entry)
        ext = dict(card.pop("extensions"))
        uid = entry.id if isinstance(entry.id, int) and entry.id not in used else None
        if uid is None:
            uid = next(n for n in range(index, index + len(book.entries) + 1) if n not in used)
        used.add(uid)
        out: dict[str, Any] = {"uid": uid}
        for name, field in WI_FIELDS.items():
            if field in card and name != "uid":
                out[name] = card[field]
        out["disable"] = not entry.enabled
        if not out.get("comment") and entry.name:
            out["comment"] = entry.name  # SillyTavern's title; it has no other name field
        for name, key in WI_EXTENSIONS.items():
            if key in ext:
                out[name] = ext.pop(key)
        out.setdefault("caseSensitive", entry.case_sensitive)
        st = ext.pop("sillytavern", None)
        out.update(st if isinstance(st, dict) else {})
        if ext:
            out["extensions"] = ext
        entries[str(uid)] = out
    data: dict[str, Any] = {"entries": entries}
    if book.name:
        data["name"] = book.name
    return data
