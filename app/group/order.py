"""Who speaks next in a group scene: the one addressed, the next in turn, a weighted draw by
talkativeness, or the player's choice."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from typing import Literal

from app.errors import LoreweaverError
from app.group.cast import Member

Order = Literal["mention", "round-robin", "talkative"]
ORDERS: tuple[Order, ...] = ("mention", "round-robin", "talkative")


def mentioned(text: str, cast: Sequence[Member]) -> Member | None:
    """The member the text addresses: the first whose name (or first name, or nickname) occurs
    as a whole word, earliest in the text."""
    best: tuple[int, int] | None = None
    for index, member in enumerate(cast):
        names = {member.name, member.name.split()[0], member.sheet.nickname}
        for name in filter(None, names):
            found = re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text, re.IGNORECASE)
            if found and (best is None or found.start() < best[0]):
                best = (found.start(), index)
    return cast[best[1]] if best is not None else None


def next_speaker(
    cast: Sequence[Member],
    order: Order,
    *,
    last_text: str = "",
    last_speaker: str | None = None,
    rng: random.Random | None = None,
) -> Member:
    """The member to speak next. `mention` falls back to rotation when nobody is named; an NPC
    never answers itself by mention; `talkative` never picks the one who just spoke (unless
    all others are silent, weight 0)."""
    ids = [m.id for m in cast]
    after = (ids.index(last_speaker) + 1) % len(cast) if last_speaker in ids else 0
    if order == "mention":
        named = mentioned(last_text, cast)
        if named is not None and named.id != last_speaker:
            return named
        return cast[after]
    if order == "round-robin":
        return cast[after]
    if order == "talkative":
        others = [m for m in cast if m.id != last_speaker] or list(cast)
        weights = [m.talkativeness for m in others]
        if not any(weights):
            return cast[after]
        return (rng or random.Random()).choices(others, weights)[0]
    raise LoreweaverError(f"turn order {order!r}: use one of {', '.join(ORDERS)}")


def pick(cast: Sequence[Member], ref: str) -> Member:
    """The member the player chose, by id or name (case-insensitive)."""
    key = ref.strip().lower()
    for member in cast:
        if key in (member.id.lower(), member.name.lower()):
            return member
    names = ", ".join(m.id for m in cast)
    raise LoreweaverError(f"{ref!r} is not in this scene (cast: {names})")
