"""The lore of one turn as a chat sees it: the books' budget, the timers kept in the chat's
metadata (before and after the latest turn, so a regenerated reply or a preview of the same turn
sees the state that turn started from) and the scan itself."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from app.errors import LoreweaverError
from app.memory.lore.activation import activate
from app.memory.lore.defaults import WorldInfoSettings, defaults_used, lore_budget
from app.memory.lore.result import LoreResult, ScanInput
from app.memory.lore.timing import LoreTimers
from app.sheets.lorebook import Lorebook

LORE_META = "lore_timers"
MAX_RECURSION = 3


def timers_for(meta: dict[str, Any], turn: int) -> LoreTimers:
    """The timers turn `turn` starts from, out of a chat's metadata (junk reads as none)."""
    saved = meta.get(LORE_META)
    if not isinstance(saved, dict):
        return LoreTimers()
    key = "before" if saved.get("turn") == turn else "after"
    try:
        return LoreTimers.from_dict(saved.get(key, {}), "chat metadata")
    except LoreweaverError:  # a damaged record must not stop the chat: the timers start afresh
        return LoreTimers()


def timers_meta(before: LoreTimers, after: LoreTimers, turn: int) -> dict[str, Any]:
    return {LORE_META: {"turn": turn, "before": before.to_dict(), "after": after.to_dict()}}


def scan_lore(
    books: Sequence[Lorebook],
    texts: Sequence[str],
    *,
    turn: int,
    seed: int,
    timers: LoreTimers,
    char: str,
    user: str,
    count: Callable[[str], int],
    n_ctx: int,
    settings: WorldInfoSettings | None = None,
) -> LoreResult | None:
    """The turn's lore; books leave unset what `settings` (SillyTavern's defaults) decides."""
    if not any(book.entries for book in books):
        return None
    settings = settings or WorldInfoSettings()
    budget = lore_budget(books, n_ctx, settings)
    recursive = any(
        settings.recursive if b.recursive_scanning is None else b.recursive_scanning for b in books
    )
    result = activate(
        books,
        ScanInput(messages=texts, turn=turn, seed=seed, state=timers, char=char, user=user),
        count_tokens=count,
        budget=budget.tokens,
        max_recursion=MAX_RECURSION if recursive else 0,
        settings=settings,
    )
    rules = [f"budget {budget.tokens} tokens: {budget.rule}", *defaults_used(books, settings)]
    return dataclasses.replace(result, rules=rules)
