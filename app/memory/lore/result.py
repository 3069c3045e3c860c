"""What a lore scan takes and gives: the turn's texts in, the entries that fired (and why) and
the ones held back (and why) out, with the timers to carry to the next turn."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from app.memory.lore.timing import LoreTimers
from app.sheets.lorebook import LoreEntry, Position, Role


@dataclass(frozen=True)
class ScanInput:
    messages: Sequence[str]
    """Chat texts, oldest → newest; each entry scans the last `scan_depth` of them."""
    turn: int
    """The chat's turn number: sticky, cooldown, delay and the V3 turn decorators count it."""
    seed: int
    """Probability and group rolls are a function of (seed, turn, entry)."""
    state: LoreTimers = field(default_factory=LoreTimers)
    char: str = ""
    user: str = ""
    """Names for `{{char}}` / `{{user}}` in keys and content."""


@dataclass(frozen=True)
class Activation:
    entry: LoreEntry
    book: str
    reason: str
    tokens: int
    text: str
    """The content to insert: decorators removed, macros substituted."""
    position: Position
    depth: int
    role: Role
    """Placement after the V3 `@@position` / `@@depth` / `@@role` decorators."""
    title: str
    key: str
    """Stable id of the entry within this scan: `book#id` or `book@index`."""
    level: int = 0
    """0: found in the chat; n: found on recursion level n."""

    @property
    def constant(self) -> bool:
        return self.entry.constant


@dataclass(frozen=True)
class Rejection:
    entry: LoreEntry
    book: str
    reason: str
    title: str = ""
    key: str = ""


@dataclass(frozen=True)
class LoreResult:
    activated: list[Activation]
    """In prompt order: grouped by position, then by ascending `insertion_order`."""
    rejected: list[Rejection]
    timers: LoreTimers
    budget: int = 0
    tokens: int = 0
    """Tokens of everything activated (constants included, even over budget)."""
    notices: list[str] = field(default_factory=list)
    """Things that are not a rejection but must not pass silently (constants over budget)."""
    rules: list[str] = field(default_factory=list)
    """How the budget was reached and which settings' defaults applied, for `--explain`."""

    def prompt_lore(self) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """(title, text) pairs for the assembler: constant entries, then the others."""
        fixed = [(a.title, a.text) for a in self.activated if a.constant]
        return fixed, [(a.title, a.text) for a in self.activated if not a.constant]

    def explain(self) -> list[str]:
        lines = [f"lore: {len(self.activated)} entries, {self.tokens}/{self.budget} tokens"]
        lines += [f"  rule: {rule}" for rule in self.rules]
        lines += [
            f"  + {a.title} [{a.book}] ({a.tokens} tokens, {a.position}): {a.reason}"
            for a in self.activated
        ]
        lines += [f"  - {r.title} [{r.book}]: {r.reason}" for r in self.rejected]
        lines += [f"  ! {notice}" for notice in self.notices]
        return lines
