"""Each lorebook entry's effective settings for one scan: defaults, extensions and V3 decorators.

Settings are resolved once per turn, so the scan itself only reads plain fields:
- case sensitivity, whole-word matching and recursion: the entry's value, else the book's, else
  the settings' (`WorldInfoSettings`: SillyTavern's shipped defaults);
- scan depth: `@@scan_depth`, else the entry's `scan_depth`, else the book's;
- placement: `@@position` (our positions, or V3 `before_desc` / `after_desc`), else `@@depth N`
  (at depth N), else the entry's `position` / `depth`; `@@role` overrides the role;
- "delay until recursion" as the level it waits for (`True` is level 1, off is 0).
Decorators follow the V3 spec: the first of a name counts, a value that does not parse means
the decorator is ignored, and a `@@@` fallback is used only when the line before it was ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import cast, get_args

from app.memory.lore.defaults import WorldInfoSettings
from app.memory.lore.keys import KeyRules, key_problem
from app.memory.lore.timing import Timing, digest
from app.sheets.lorebook import Decorator, Lorebook, LoreEntry, Position, Role
from app.sheets.macros import substitute

V3_POSITIONS: dict[str, Position] = {"before_desc": "before_char", "after_desc": "after_char"}


@dataclass(frozen=True)
class Prepared:
    key: str
    seq: int
    book: str
    title: str
    entry: LoreEntry
    text: str
    keys: list[str]
    secondary: list[str]
    additional: list[str]
    excluded: list[str]
    rules: KeyRules
    scan_depth: int
    position: Position
    depth: int
    role: Role
    recursive: bool
    groups: list[str]
    group_override: bool
    group_scoring: bool
    delay_level: int
    decorators: dict[str, str]
    timing: Timing


def prepare(
    books: Sequence[Lorebook], settings: WorldInfoSettings, *, char: str = "", user: str = ""
) -> list[Prepared]:
    """Every entry of every book, in book order then entry order."""
    out: list[Prepared] = []
    labels: set[str] = set()
    for number, book in enumerate(books, start=1):
        label = book.name.strip() or f"book {number}"
        if label in labels:
            label = f"{label} ({number})"
        labels.add(label)
        keys_seen: set[str] = set()
        for index, entry in enumerate(book.entries):
            key = f"{label}#{entry.id}" if entry.id is not None else f"{label}@{index}"
            if key in keys_seen:
                key = f"{label}@{index}"
            keys_seen.add(key)
            out.append(_prepare(entry, book, settings, label, key, index, len(out), char, user))
    return out


def _prepare(
    entry: LoreEntry,
    book: Lorebook,
    settings: WorldInfoSettings,
    label: str,
    key: str,
    index: int,
    seq: int,
    char: str,
    user: str,
) -> Prepared:
    decorators = resolve(entry.decorators())
    position = entry.position
    depth = entry.depth
    if "position" in decorators:
        position = _position(decorators["position"]) or position
    elif "depth" in decorators:
        position, depth = "at_depth", int(decorators["depth"])
    role = cast(Role, decorators.get("role", entry.role))
    scan_depth = int(
        decorators.get(
            "scan_depth", entry.scan_depth if entry.scan_depth is not None else book.scan_depth
        )
    )

    def names(values: Sequence[str]) -> list[str]:
        return substitute_keys(values, char=char, user=user)

    text = entry.text()
    if char or user:
        text = substitute(text, char=char, user=user)
    title = (
        entry.name or entry.comment.strip() or next(iter(entry.keys), "") or f"entry {index + 1}"
    )
    return Prepared(
        key=key,
        seq=seq,
        book=label,
        title=title,
        entry=entry,
        text=text,
        keys=names(entry.keys),
        secondary=names(entry.secondary_keys) if entry.selective else [],
        additional=names(decorators.get("additional_keys", "").split(",")),
        excluded=names(decorators.get("exclude_keys", "").split(",")),
        rules=KeyRules(
            _either(entry.case_sensitive, book.case_sensitive, settings.case_sensitive),
            _either(entry.match_whole_words, book.match_whole_words, settings.match_whole_words),
        ),
        scan_depth=scan_depth,
        position=position,
        depth=depth,
        role=role,
        recursive=_either(book.recursive_scanning, None, settings.recursive),
        groups=[g.strip() for g in entry.group.split(",") if g.strip()],
        group_override=entry.group_override,
        group_scoring=bool(entry.use_group_scoring),
        delay_level=int(entry.delay_until_recursion),
        decorators=decorators,
        timing=Timing(digest(entry), entry.sticky, entry.cooldown),
    )


def key_problems(e: Prepared) -> list[str]:
    """Why each of the entry's keys that cannot be used fails (a bad regex): such an entry is
    skipped, and the reasons are shown by `--explain`, `characters validate` and the editor."""
    keys = [*e.keys, *e.secondary, *e.additional, *e.excluded]
    return [problem for key in keys if (problem := key_problem(key)) is not None]


def book_problems(book: Lorebook, *, char: str = "", user: str = "") -> list[tuple[int, str, str]]:
    """(entry index, entry title, reason) for every unusable key of `book`, in entry order."""
    return [
        (index, e.title, problem)
        for index, e in enumerate(prepare([book], WorldInfoSettings(), char=char, user=user))
        for problem in key_problems(e)
    ]


def substitute_keys(keys: Sequence[str], *, char: str, user: str) -> list[str]:
    """Keys after `{{char}}` / `{{user}}`, trimmed; empty ones never match, so they go."""
    if char or user:
        keys = [substitute(k, char=char, user=user) for k in keys]
    return [k.strip() for k in keys if k.strip()]


def resolve(decorators: Sequence[Decorator]) -> dict[str, str]:
    """The decorators that apply: name → value ("" for those without one)."""
    out: dict[str, str] = {}
    chain_used = True
    for decorator in decorators:
        if decorator.fallback and chain_used:
            continue
        value = _value(decorator)
        used = value is not None and decorator.name not in out
        if used:
            out[decorator.name] = cast(str, value)
        chain_used = used
    return out


def _value(decorator: Decorator) -> str | None:
    """The decorator's value if we know the decorator and the value parses, else None."""
    check = _CHECKS.get(decorator.name)
    if check is None:
        return None
    return decorator.value if check(decorator.value) else None


def _count(low: int, high: int) -> Callable[[str], bool]:
    def check(value: str) -> bool:
        return value.strip().isdigit() and low <= int(value) <= high

    return check


def _position(value: str) -> Position | None:
    value = value.strip()
    if value in V3_POSITIONS:
        return V3_POSITIONS[value]
    return cast(Position, value) if value in get_args(Position) else None


_CHECKS: dict[str, Callable[[str], bool]] = {
    "activate": lambda v: not v,
    "dont_activate": lambda v: not v,
    "keep_activate_after_match": lambda v: not v,
    "dont_activate_after_match": lambda v: not v,
    "activate_only_after": _count(0, 10**9),
    "activate_only_every": _count(1, 10**9),
    "depth": _count(0, 10_000),
    "scan_depth": _count(0, 1000),
    "role": lambda v: v in get_args(Role),
    "position": lambda v: _position(v) is not None,
    "additional_keys": lambda v: bool(v.strip(", ")),
    "exclude_keys": lambda v: bool(v.strip(", ")),
}


def _either(own: bool | None, book: bool | None, default: bool) -> bool:
    return own if own is not None else book if book is not None else default
