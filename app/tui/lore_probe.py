"""The editor's lore test box: which entries of a book would fire for a text, and why.

It runs `app.memory.lore.activate` — the same world-info rules a chat uses — with the text as
the only message of the first turn of a new chat (so delays, cooldowns and seeded rolls behave as
they would there), and keeps every line the scan explains: fired, held back or rejected.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.memory.lore import ScanInput, activate
from app.sheets.lorebook import Lorebook, LoreEntry


@dataclass(frozen=True)
class ProbeLine:
    fired: bool
    title: str
    reason: str
    detail: str = ""
    """For a fired entry: its tokens and where it goes in the prompt."""


@dataclass(frozen=True)
class Probe:
    lines: list[ProbeLine]
    tokens: int = 0
    budget: int = 0
    notices: tuple[str, ...] = ()

    @property
    def fired(self) -> list[ProbeLine]:
        return [line for line in self.lines if line.fired]

    def render(self) -> str:
        """The text the test box shows: a summary, then ✓ fired / ✗ not, each with its reason."""
        fired = self.fired
        if fired:
            head = (f"{len(fired)} of {len(self.lines)} entries fire · "
                    f"{self.tokens}/{self.budget} tokens")
        else:
            head = "No entry fires for this text."
        lines = [head]
        lines += [f"✓ {line.title} ({line.detail}) — {line.reason}" for line in fired]
        lines += [f"✗ {line.title} — {line.reason}" for line in self.lines if not line.fired]
        lines += [f"! {notice}" for notice in self.notices]
        return "\n".join(lines)


def entry_title(book: Lorebook, entry: LoreEntry) -> str:
    """`n. label`, numbered as in the editor's entry list."""
    number = next((i + 1 for i, e in enumerate(book.entries) if e is entry), None)
    if number is None:
        number = next((i + 1 for i, e in enumerate(book.entries) if e == entry), 0)
    label = entry.name or entry.comment or next(iter(entry.keys), "") or "(no keys)"
    return f"{number}. {label}"


def probe(book: Lorebook, text: str, count_tokens: Callable[[str], int], *,
          char: str = "", user: str = "") -> Probe:
    scan = ScanInput(messages=[text], turn=1, seed=0, char=char, user=user)
    result = activate([book], scan, count_tokens=count_tokens, budget=book.token_budget)
    lines = [ProbeLine(True, entry_title(book, a.entry), a.reason,
                       f"{a.tokens} tok, {a.position.replace('_', ' ')}")
             for a in result.activated]
    lines += [ProbeLine(False, entry_title(book, r.entry), r.reason) for r in result.rejected]
    explained = {id(a.entry) for a in result.activated} | {id(r.entry) for r in result.rejected}
    lines += [ProbeLine(False, entry_title(book, e), _silent_reason(e)) for e in book.entries
              if id(e) not in explained]
    return Probe(lines, result.tokens, result.budget, tuple(result.notices))


def _silent_reason(entry: LoreEntry) -> str:
    if not entry.keys:
        return "no keys (and not constant)"
    return "no key found in the text: " + ", ".join(repr(k) for k in entry.keys)
