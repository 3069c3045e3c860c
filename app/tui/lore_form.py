"""A lorebook entry as the editor's form holds it, and back.

The form keeps each entry as the raw text of its boxes (`EntryDraft`), so switching between
entries never loses a half-typed value that does not parse yet. The common fields have their own
boxes; every other entry setting (priority, groups, timed effects, …) lives in one YAML box, so
the whole entry stays editable. Free of Textual, like `sheet_form`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from typing import get_args

from app.sheets.lorebook import Lorebook, LoreEntry, Position, SelectiveLogic
from app.tui.sheet_form import parse_number, parse_yaml, split_lines, yaml_text

LOGICS: tuple[str, ...] = get_args(SelectiveLogic)
POSITIONS: tuple[str, ...] = get_args(Position)
LOGIC_LABELS = {
    "and_any": "AND ANY",
    "not_all": "NOT ALL",
    "not_any": "NOT ANY",
    "and_all": "AND ALL",
}


@dataclass(frozen=True)
class EntryDraft:
    name: str = ""
    keys: str = ""
    secondary_keys: str = ""
    selective: bool = False
    selective_logic: str = "and_any"
    position: str = "after_char"
    depth: str = "4"
    insertion_order: str = "100"
    constant: bool = False
    enabled: bool = True
    content: str = ""
    other: str = ""
    """YAML of the entry's remaining settings."""

    def title(self, index: int) -> str:
        """How the entry is listed: its name, else its first key."""
        label = self.name.strip() or next(iter(split_lines(self.keys)), "") or "(no keys)"
        mark = "" if self.enabled else " (off)"
        return f"{index + 1}. {label}{mark}"

    def with_(self, **changes: object) -> EntryDraft:
        return replace(self, **changes)  # type: ignore[arg-type]


FORM_FIELDS = frozenset(f.name for f in fields(EntryDraft)) - {"other"}


def with_secondary_rule(old: EntryDraft, new: EntryDraft) -> EntryDraft:
    """`new`, with Selective ticked if it gains secondary keys where `old` had none.

    Secondary keys count only for a selective entry (SillyTavern's rule): keys typed into an
    entry that is not would be silently ignored. Unticking it afterwards is respected.
    """
    if split_lines(new.secondary_keys) and not split_lines(old.secondary_keys):
        return new.with_(selective=True)
    return new


def secondary_note(draft: EntryDraft) -> str:
    """What the secondary keys box should say about them ("" when they count)."""
    if split_lines(draft.secondary_keys) and not draft.selective:
        return "ignored: Selective is off"
    return ""


def entry_draft(entry: LoreEntry) -> EntryDraft:
    dumped = entry.model_dump(mode="json", exclude_defaults=True)
    other = {k: v for k, v in dumped.items() if k not in FORM_FIELDS}
    return EntryDraft(
        name=entry.name or "",
        keys="\n".join(entry.keys),
        secondary_keys="\n".join(entry.secondary_keys),
        selective=entry.selective,
        selective_logic=entry.selective_logic,
        position=entry.position,
        depth=str(entry.depth),
        insertion_order=str(entry.insertion_order),
        constant=entry.constant,
        enabled=entry.enabled,
        content=entry.content,
        other=yaml_text(other),
    )


def entry_data(draft: EntryDraft) -> tuple[dict[str, object], dict[str, str]]:
    """The entry mapping and a message per box that could not be read (keyed by draft field)."""
    errors: dict[str, str] = {}
    data: dict[str, object] = {}
    try:
        other = parse_yaml("other settings", draft.other)
        if other is not None and not isinstance(other, dict):
            raise ValueError("other settings: must be a mapping of setting: value")
        clash = sorted(str(k) for k in other or {} if k in FORM_FIELDS)
        if clash:
            raise ValueError(f"other settings: {clash[0]!r} has its own box; edit it there")
        data.update({str(k): v for k, v in (other or {}).items()})
    except ValueError as exc:
        errors["other"] = str(exc)
    for name in ("depth", "insertion_order"):
        try:
            data[name] = parse_number(name, getattr(draft, name))
        except ValueError as exc:
            errors[name] = str(exc)
        if data.get(name) is None:
            data.pop(name, None)
    data.update(
        name=draft.name.strip() or None,
        keys=split_lines(draft.keys),
        secondary_keys=split_lines(draft.secondary_keys),
        selective=draft.selective,
        selective_logic=draft.selective_logic,
        position=draft.position,
        constant=draft.constant,
        enabled=draft.enabled,
        content=draft.content,
    )
    return data, errors


def book_settings_text(book: Lorebook | None) -> str:
    """The book's own settings (name, scan depth, budget, …) as YAML, entries left out."""
    if book is None:
        return ""
    return yaml_text(book.model_dump(mode="json", exclude_defaults=True, exclude={"entries"}))


def book_data(
    settings: str, drafts: list[EntryDraft], keep_empty: bool
) -> tuple[dict[str, object] | None, dict[str, str]]:
    """The `character_book` mapping (None when there is no book to save) and read errors, keyed
    `settings` or `<index>.<field>`."""
    errors: dict[str, str] = {}
    data: dict[str, object] = {}
    try:
        value = parse_yaml("book settings", settings)
        if value is not None and not isinstance(value, dict):
            raise ValueError("book settings: must be a mapping of setting: value")
        data.update({str(k): v for k, v in (value or {}).items() if k != "entries"})
    except ValueError as exc:
        errors["settings"] = str(exc)
    entries = []
    for index, draft in enumerate(drafts):
        entry, entry_errors = entry_data(draft)
        entries.append(entry)
        errors.update({f"{index}.{name}": text for name, text in entry_errors.items()})
    if not entries and not data and not keep_empty:
        return None, errors
    data["entries"] = entries
    return data, errors


_ENTRY_PATH = re.compile(r"^(?:character_book\.)?entries\[(\d+)\](?:\.(\w+))?")


def error_key(message: str) -> str:
    """Where a lorebook's validation message (`character_book.…` in a sheet, or a world book's
    own) belongs: `<index>.<field>` of an entry's box (settings without a box of their own go to
    its "other" box), else `settings`."""
    match = _ENTRY_PATH.match(message)
    if match is None:
        return "settings"
    field = match.group(2) or "other"
    return f"{match.group(1)}.{field if field in FORM_FIELDS else 'other'}"
