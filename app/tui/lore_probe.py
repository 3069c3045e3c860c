"""The editor's lore test box: which entries of a book would fire for a text, and why.

It asks `app.memory.lore.activate` (the world-info rules used in chats) with the text as the
only message. Until that module is in the tree, it falls back to what every ruleset agrees on
(constant entries, and primary keys found case-insensitively) and says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.sheets.lorebook import LoreEntry, Lorebook


@dataclass(frozen=True)
class ProbeLine:
    fired: bool
    title: str
    reason: str


@dataclass(frozen=True)
class Probe:
    lines: list[ProbeLine]
    full_rules: bool
    """False when only constant entries and plain primary keys were checked."""


def entry_title(book: Lorebook, entry: LoreEntry) -> str:
    number = next((i + 1 for i, e in enumerate(book.entries) if e is entry), None)
    if number is None:
        number = next((i + 1 for i, e in enumerate(book.entries) if e == entry), 0)
    label = entry.name or entry.comment or next(iter(entry.keys), "") or "(no keys)"
    return f"{number}. {label}"


def probe(book: Lorebook, text: str, count_tokens: Callable[[str], int]) -> Probe:
    try:
        from app.memory import lore
    except ImportError:
        return Probe(_primary_keys_only(book, text), full_rules=False)
    scan = lore.ScanInput(messages=[text], turn=1, seed=0, state=lore.LoreTimers())
    result = lore.activate([book], scan, count_tokens=count_tokens, budget=book.token_budget)
    lines = [ProbeLine(True, entry_title(book, a.entry), a.reason) for a in result.activated]
    lines += [ProbeLine(False, entry_title(book, r.entry), r.reason) for r in result.rejected]
    return Probe(lines, full_rules=True)


def _primary_keys_only(book: Lorebook, text: str) -> list[ProbeLine]:
    lowered = text.lower()
    lines = []
    for entry in book.entries:
        if not entry.enabled:
            continue
        if entry.constant:
            lines.append(ProbeLine(True, entry_title(book, entry), "constant"))
            continue
        key = next((k for k in entry.keys if k and k.lower() in lowered), None)
        if key is not None:
            lines.append(ProbeLine(True, entry_title(book, entry), f"key {key!r} matched"))
    return lines
