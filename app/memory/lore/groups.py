"""Inclusion groups (SillyTavern): of a scan level's candidates that share a group only one
fires, chosen by stickiness, key score (group scoring), priority or a seeded weighted roll; a
group a member has already fired this turn admits no other. `draw`, the seeded number behind
the group roll, serves the entries' probability rolls too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Container, Mapping, Sequence

from app.memory.lore.keys import BadKey, Haystack
from app.memory.lore.rules import Prepared


def losers(
    found: Sequence[Prepared],
    *,
    sticky: Container[str],
    won: Mapping[str, str],
    haystack: Callable[[int], Haystack],
    seed: int,
    turn: int,
) -> dict[str, str]:
    """The members of inclusion groups among `found` that must not fire, with why: one winner
    per group (sticky, else higher score, prioritised, or a roll); none once the group's `won`."""
    members: dict[str, list[Prepared]] = {}
    for e in found:
        for name in e.groups:
            members.setdefault(name, []).append(e)
    lost: dict[str, str] = {}
    for name, group in members.items():
        tag = f"group {name!r}"
        stickies = [e for e in group if e.key in sticky]
        if stickies:
            lost.update(
                {
                    e.key: f"{tag}: sticky {stickies[0].title!r} holds it"
                    for e in group
                    if e not in stickies
                }
            )
            continue
        if name in won:
            lost.update({e.key: f"{tag}: {won[name]!r} already fired" for e in group})
            continue
        if any(e.group_scoring for e in group):
            scores = {e.key: _score(e, haystack(e.scan_depth)) for e in group}
            best = max(scores.values())
            top = next(e for e in group if scores[e.key] == best)
            for e in group:
                if e.group_scoring and scores[e.key] < best:
                    lost[e.key] = (
                        f"{tag}: fewer keys matched ({scores[e.key]}) than {top.title!r} ({best})"
                    )
            group = [e for e in group if e.key not in lost]
        if len(group) < 2:
            continue
        winner, how = _winner(name, group, seed, turn)
        lost.update(
            {e.key: f"{tag}: lost to {winner.title!r} ({how})" for e in group if e is not winner}
        )
    return lost


def _winner(name: str, group: list[Prepared], seed: int, turn: int) -> tuple[Prepared, str]:
    """The group's winner and how it won: the highest prioritised, else a weighted roll."""
    prioritised = [e for e in group if e.group_override]
    if prioritised:
        best = max(prioritised, key=lambda e: e.entry.insertion_order)
        return best, f"prioritised, order {best.entry.insertion_order}"
    total = sum(e.entry.group_weight for e in group)
    if total <= 0:
        return group[0], "all weights 0: first in order"
    point = draw(seed, turn, "group", name) * total
    running = 0
    for e in group:
        running += e.entry.group_weight
        if point < running:
            return e, f"weight {e.entry.group_weight} of {total}, rolled {point:.0f}"
    return group[-1], f"weight {group[-1].entry.group_weight} of {total}"


def _score(e: Prepared, hay: Haystack) -> int:
    """SillyTavern's group score: primary keys found, plus secondary ones for AND logic."""
    try:
        primary = sum(1 for k in e.keys if hay.find(k, e.rules))
        secondary = sum(1 for k in e.secondary if hay.find(k, e.rules))
    except BadKey:
        return 0
    if e.entry.selective_logic == "and_any":
        return primary + secondary
    if e.entry.selective_logic == "and_all" and secondary == len(e.secondary):
        return primary + secondary
    return primary


def draw(seed: int, turn: int, kind: str, name: str) -> float:
    """A uniform number in [0, 1) fixed by its inputs, so a turn replays identically."""
    digest = hashlib.blake2b(f"{seed}\x00{turn}\x00{kind}\x00{name}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big") / 2**64
