"""The editor's lore test box: which entries of the character's books would fire for a text,
and why: its own lorebook and the shared world books its sheet names.

It runs `scan_lore` — the same world-info scan a chat runs, books, budget and recursion alike —
with the text as the only message of the first turn of a new chat (so delays, cooldowns and
seeded rolls behave as they would there), and keeps every line the scan explains: fired, held
back or rejected.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app.memory.lore.defaults import WorldInfoSettings, lore_budget
from app.memory.lore.scan import scan_lore
from app.memory.lore.timing import LoreTimers
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
    rules: tuple[str, ...] = ()
    """The budget rule and the settings' defaults that applied."""

    @property
    def fired(self) -> list[ProbeLine]:
        return [line for line in self.lines if line.fired]

    def render(self) -> str:
        """The text the test box shows: a summary, then ✓ fired / ✗ not, each with its reason."""
        fired = self.fired
        if fired:
            head = (
                f"{len(fired)} of {len(self.lines)} entries fire · "
                f"{self.tokens}/{self.budget} tokens"
            )
        else:
            head = "No entry fires for this text."
        lines = [head]
        lines += [f"✓ {line.title} ({line.detail}) — {line.reason}" for line in fired]
        lines += [f"✗ {line.title} — {line.reason}" for line in self.lines if not line.fired]
        lines += [f"! {notice}" for notice in self.notices]
        lines += [f"· {rule}" for rule in self.rules]
        return "\n".join(lines)


def entry_title(book: Lorebook, entry: LoreEntry, book_id: str = "") -> str:
    """`n. label`, numbered as in the editor's entry list (a world book's: `id n. label`)."""
    number = next((i + 1 for i, e in enumerate(book.entries) if e is entry), None)
    if number is None:
        number = next((i + 1 for i, e in enumerate(book.entries) if e == entry), 0)
    label = entry.name or entry.comment or next(iter(entry.keys), "") or "(no keys)"
    return f"{book_id} {number}. {label}" if book_id else f"{number}. {label}"


def probe(
    own: Lorebook | None,
    text: str,
    count_tokens: Callable[[str], int],
    *,
    world: Sequence[tuple[str, Lorebook]] = (),
    char: str = "",
    user: str = "",
    n_ctx: int,
    settings: WorldInfoSettings | None = None,
) -> Probe:
    """What fires for `text` from the world books (`(id, book)`, as the sheet names them) and
    the character's `own` book, in a chat with an `n_ctx`-token window whose settings' lore
    defaults are `settings`."""
    named = [*world, *([("", own)] if own is not None else [])]
    books = [book for _, book in named]
    result = scan_lore(
        books,
        [text],
        turn=1,
        seed=0,
        timers=LoreTimers(),
        char=char,
        user=user,
        count=count_tokens,
        n_ctx=n_ctx,
        settings=settings,
    )
    if result is None:
        return Probe([], budget=lore_budget(books, n_ctx, settings or WorldInfoSettings()).tokens)

    def title(entry: LoreEntry) -> str:
        book_id, book = next(
            ((i, b) for i, b in named if any(e is entry for e in b.entries)), named[-1]
        )
        return entry_title(book, entry, book_id)

    lines = [
        ProbeLine(True, title(a.entry), a.reason, f"{a.tokens} tok, {a.position.replace('_', ' ')}")
        for a in result.activated
    ]
    lines += [ProbeLine(False, title(r.entry), r.reason) for r in result.rejected]
    explained = {id(a.entry) for a in result.activated} | {id(r.entry) for r in result.rejected}
    lines += [
        ProbeLine(False, entry_title(book, e, book_id), _silent_reason(e))
        for book_id, book in named
        for e in book.entries
        if id(e) not in explained
    ]
    return Probe(lines, result.tokens, result.budget, tuple(result.notices), tuple(result.rules))


def _silent_reason(entry: LoreEntry) -> str:
    if not entry.keys:
        return "no keys (and not constant)"
    return "no key found in the text: " + ", ".join(repr(k) for k in entry.keys)
