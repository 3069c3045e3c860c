"""Lorebook activation: which entries enter the prompt this turn, and why (SillyTavern rules).

One turn is evaluated the way SillyTavern's world-info scan runs:
1. each entry is checked against the newest `scan_depth` messages (entry, then book setting)
   and, on recursion levels, the text of the entries activated so far: constant, `@@activate`,
   sticky, or a primary key, then the secondary keys with the entry's logic;
2. an entry that would fire can still be held back: disabled, delay, cooldown, non-recursable
   on a recursion level, `@@dont_activate` and the V3 turn decorators;
3. the level's candidates (sticky first, then higher `insertion_order`) go through inclusion
   groups (one winner each), then their probability roll, then the token budget;
4. with recursive scanning, the new entries' text is scanned again, up to `max_recursion` levels.

Everything held back gets a `Rejection` with the reason, for `--explain`. As in SillyTavern,
constant entries come first and count against the budget like any other; an entry with
`ignore_budget` enters even when the budget is spent; an entry with `delay_until_recursion`
fires only on a recursion level (a number N: from level N on; while such entries wait, the scan
goes on to their level even when the previous level found nothing new). Departures, on purpose:
an entry that exactly fills the budget fits; rolls are seeded, so a turn replays the same way.
The timed effects are in `timing`, key matching in `keys`, inclusion groups in `groups`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from app.memory.lore.defaults import WorldInfoSettings
from app.memory.lore.groups import draw, losers
from app.memory.lore.keys import BadKey, Haystack, RegexBudget, haystack
from app.memory.lore.result import Activation, LoreResult, Rejection, ScanInput
from app.memory.lore.rules import Prepared, key_problems, prepare
from app.memory.lore.timing import (
    LoreTimers,
    TimerView,
    advance,
    cooldown_reason,
    current,
    sticky_reason,
)
from app.sheets.lorebook import Lorebook, Position

__all__ = ["Activation", "LoreResult", "LoreTimers", "Rejection", "ScanInput", "activate"]

POSITION_ORDER: tuple[Position, ...] = (
    "before_char",
    "after_char",
    "before_examples",
    "after_examples",
    "top_of_notes",
    "bottom_of_notes",
    "at_depth",
)


def activate(
    books: Sequence[Lorebook],
    scan: ScanInput,
    *,
    count_tokens: Callable[[str], int],
    budget: int,
    max_recursion: int = 3,
    settings: WorldInfoSettings | None = None,
) -> LoreResult:
    """Evaluate every entry of `books` for this turn (no I/O; the caller persists `timers`);
    `settings` decide what a book leaves unset."""
    entries = prepare(books, settings or WorldInfoSettings(), char=scan.char, user=scan.user)
    view = current(scan.state, scan.turn, {e.key: e.timing for e in entries})
    run = _Run(scan, view, count_tokens, budget)
    level = 0
    while True:
        fresh = run.level(entries, level)
        feed = [
            (f"entry '{e.title}'", e.text)
            for e in fresh
            if e.recursive and not e.entry.prevent_recursion and e.text
        ]
        if run.overflow:
            break
        if not feed:  # SillyTavern goes on to the next level entries wait for, if any
            waiting = [e.delay_level for e in entries if e.delay_level > level]
            if not waiting:
                break
            level = min(waiting)
            continue
        run.recursion += feed
        if level >= max_recursion:
            run.beyond_limit(entries, level + 1, max_recursion)
            break
        level += 1
    notices = []
    if run.used > budget:
        notices.append(
            f"over budget: entries with ignore_budget bring lore to {run.used}/{budget} tokens"
        )
    activated = sorted(
        run.activated.values(),
        key=lambda a: (POSITION_ORDER.index(a.position), a.entry.insertion_order, run.order[a.key]),
    )
    fired = [
        (e.key, e.timing) for e in entries if e.key in run.activated and e.key not in view.sticky
    ]
    return LoreResult(
        activated,
        list(run.rejected.values()),
        advance(view, scan.turn, fired),
        budget,
        run.used,
        notices,
    )


class _Run:
    """The state of one turn's scan, level after level."""

    def __init__(
        self, scan: ScanInput, view: TimerView, count: Callable[[str], int], budget: int
    ) -> None:
        self.scan, self.view, self.count, self.budget = scan, view, count, budget
        self.activated: dict[str, Activation] = {}
        self.rejected: dict[str, Rejection] = {}
        self.failed_roll: set[str] = set()
        self.recursion: list[tuple[str, str]] = []
        self.used = 0
        self.overflow = False
        self.order: dict[str, int] = {}
        self.groups_won: dict[str, str] = {}
        self._hay: dict[tuple[int, int], Haystack] = {}
        self._budget = RegexBudget()

    def level(self, entries: Sequence[Prepared], level: int) -> list[Prepared]:
        found: list[tuple[Prepared, str]] = []
        for e in entries:
            if e.key in self.activated or e.key in self.failed_roll:
                continue
            if level and not (e.recursive or e.delay_level):
                continue
            why, miss = self._why(e)
            if why is None:
                if miss:
                    self._reject(e, miss)
                continue
            held = self._held(e, level, why)
            if held:
                self._reject(e, held)
            else:
                found.append((e, why))
        found.sort(
            key=lambda pair: (
                not pair[0].entry.constant,
                pair[0].key not in self.view.sticky,
                -pair[0].entry.insertion_order,
                -pair[0].entry.priority,
                pair[0].seq,
            )
        )
        found = self._groups(found)
        fresh = []
        for e, why in found:
            if not self._roll(e):
                continue
            tokens = self.count(e.text) if e.text else 0
            if not e.text:
                self._reject(e, "empty content (only decorators)")
                continue
            if not e.entry.ignore_budget and (self.overflow or self.used + tokens > self.budget):
                self.overflow = True
                self._reject(
                    e,
                    f"budget: {self.used}/{self.budget} tokens used, "
                    f"this entry needs {tokens} ({why})",
                )
                continue
            self.used += tokens
            self.rejected.pop(e.key, None)
            self.order[e.key] = e.seq
            self.activated[e.key] = Activation(
                e.entry,
                e.book,
                why,
                tokens,
                e.text,
                e.position,
                e.depth,
                e.role,
                e.title,
                e.key,
                level,
            )
            for name in e.groups:  # only a member that really fired closes its group
                self.groups_won.setdefault(name, e.title)
            fresh.append(e)
        return fresh

    def beyond_limit(self, entries: Sequence[Prepared], level: int, limit: int) -> None:
        """Report the entries the next recursion level would have found."""
        for e in entries:
            if e.key in self.activated or e.key in self.rejected or not e.recursive:
                continue
            if e.key in self.failed_roll or e.entry.constant:
                continue
            why, _ = self._why(e)
            if why is not None:
                self._reject(e, f"recursion limit: {why} would need level {level} > {limit}")

    # -- one entry -------------------------------------------------------------------------

    def _why(self, e: Prepared) -> tuple[str | None, str | None]:
        """Why the entry would fire (ignoring what can hold it back), or why its keys fail."""
        sticky = self.view.sticky.get(e.key)
        if sticky is not None:
            return sticky_reason(sticky), None
        if "activate" in e.decorators:
            return "@@activate", None
        first = self.view.fired.get(e.key)
        if (
            "keep_activate_after_match" in e.decorators
            and first is not None
            and first < self.scan.turn
        ):
            return f"@@keep_activate_after_match (first fired on turn {first})", None
        if e.entry.constant:
            return "constant", None
        bad = key_problems(e)
        if bad:
            return None, "; ".join(bad)
        hay = self._haystack(e.scan_depth)
        try:
            hit = next(((k, w) for k in e.keys if (w := hay.find(k, e.rules))), None)
            if hit is None:
                return None, None
            failed = _secondary(e, hay)
        except BadKey as exc:
            return None, str(exc)
        if failed:
            return None, f"key {hit[0]!r} matched, but {failed}"
        key, where = hit
        if where.startswith("entry "):
            return f"recursion from {where[6:]}: key {key!r}", None
        return f"key {key!r} matched in {where}", None

    def _held(self, e: Prepared, level: int, why: str) -> str | None:
        """What holds back an entry that would fire, if anything."""
        turn = self.scan.turn
        sticky = e.key in self.view.sticky
        if not e.entry.enabled:
            return "disabled"
        if e.entry.delay and turn < e.entry.delay:
            return f"delay until turn {e.entry.delay}"
        cooldown = self.view.cooldown.get(e.key)
        if cooldown is not None and not sticky:
            return cooldown_reason(cooldown, turn)
        if e.delay_level > level and not sticky:
            return (
                "delay until recursion"
                + (f" level {e.delay_level}" if e.delay_level > 1 else "")
                + f": {why}"
            )
        if level and e.entry.exclude_recursion and not sticky:
            return f"non-recursable (exclude_recursion): {why}"
        if "dont_activate" in e.decorators and "activate" not in e.decorators:
            return "@@dont_activate"
        first = self.view.fired.get(e.key)
        if "dont_activate_after_match" in e.decorators and first is not None and first < turn:
            return f"@@dont_activate_after_match: already fired on turn {first}"
        after = e.decorators.get("activate_only_after")
        if after is not None and turn < int(after):
            return f"@@activate_only_after {after}: turn {turn}"
        every = e.decorators.get("activate_only_every")
        if every is not None and turn % int(every):
            return f"@@activate_only_every {every}: turn {turn}"
        return None

    def _roll(self, e: Prepared) -> bool:
        probability = e.entry.probability
        if probability >= 100 or e.key in self.view.sticky:
            return True
        roll = int(draw(self.scan.seed, self.scan.turn, "roll", e.key) * 100) + 1
        if roll <= probability:
            return True
        self.failed_roll.add(e.key)
        self._reject(e, f"probability {probability} % (rolled {roll})")
        return False

    # -- inclusion groups ------------------------------------------------------------------

    def _groups(self, found: list[tuple[Prepared, str]]) -> list[tuple[Prepared, str]]:
        """One winner per inclusion group (see `groups.losers`); the others are rejected."""
        lost = losers(
            [e for e, _ in found],
            sticky=self.view.sticky,
            won=self.groups_won,
            haystack=self._haystack,
            seed=self.scan.seed,
            turn=self.scan.turn,
        )
        for e, _ in found:
            if e.key in lost:
                self._reject(e, lost[e.key])
        return [(e, why) for e, why in found if e.key not in lost]

    # -- helpers ---------------------------------------------------------------------------

    def _haystack(self, depth: int) -> Haystack:
        cached = self._hay.get((depth, len(self.recursion)))
        if cached is None:
            messages = list(self.scan.messages)[-depth:] if depth else []
            parts = [(f"message -{i + 1}", text) for i, text in enumerate(reversed(messages))]
            cached = haystack(parts + self.recursion, self._budget)
            self._hay[depth, len(self.recursion)] = cached
        return cached

    def _reject(self, e: Prepared, reason: str) -> None:
        self.rejected[e.key] = Rejection(e.entry, e.book, reason, e.title, e.key)


def _secondary(e: Prepared, hay: Haystack) -> str | None:
    """Why the secondary keys (and V3 additional / exclude keys) stop the entry, if they do."""
    if e.secondary:
        logic = e.entry.selective_logic
        present = [k for k in e.secondary if hay.find(k, e.rules)]
        absent = [k for k in e.secondary if k not in present]
        name = logic.upper().replace("_", " ")
        if logic == "and_any" and not present:
            return f"secondary keys {name}: none of {_quoted(e.secondary)} present"
        if logic == "and_all" and absent:
            return f"secondary keys {name}: {_quoted(absent)} missing"
        if logic == "not_any" and present:
            return f"secondary keys {name}: {_quoted(present)} present"
        if logic == "not_all" and not absent:
            return f"secondary keys {name}: all of {_quoted(present)} present"
    if e.additional and not any(hay.find(k, e.rules) for k in e.additional):
        return f"@@additional_keys: none of {_quoted(e.additional)} present"
    excluded = [k for k in e.excluded if hay.find(k, e.rules)]
    if excluded:
        return f"@@exclude_keys: {_quoted(excluded)} present"
    return None


def _quoted(keys: Sequence[str]) -> str:
    return ", ".join(repr(k) for k in keys)
