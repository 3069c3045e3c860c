"""Timed effects of lorebook entries (sticky, cooldown), carried from turn to turn of a chat.

Follows SillyTavern's documented rules, counting in the chat's turns:
- sticky N: an entry that fires on turn t stays active on turns t+1 … t+N, whatever its keys,
  and skips its probability roll;
- cooldown N: after firing (or after its sticky span ends) it cannot fire for N turns;
- firing again while an effect runs does not extend it;
- effects started on a turn the chat has not moved past (a regenerated or rewound reply) are
  dropped, and so is an effect whose entry was edited since (each effect keeps a digest).
Delay needs no state (an entry cannot fire before turn N) and lives with the other rules.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from app.errors import LoreweaverError
from app.sheets.lorebook import LoreEntry

MAX_TIMERS = 100_000


@dataclass(frozen=True)
class Effect:
    start: int
    """The turn the entry fired (for a cooldown that follows a sticky span: the span's end)."""
    end: int
    """The last turn the effect covers."""
    digest: str
    protected: bool = False
    """Kept even on a turn that does not move past `start` (a cooldown that follows a sticky)."""


@dataclass(frozen=True)
class LoreTimers:
    """Per-chat state of the lore rules; store it with the chat and pass it back next turn."""

    sticky: Mapping[str, Effect] = field(default_factory=dict)
    cooldown: Mapping[str, Effect] = field(default_factory=dict)
    fired: Mapping[str, int] = field(default_factory=dict)
    """Entry key → the earliest turn it fired (for the V3 `@@…_after_match` decorators)."""

    def to_dict(self) -> dict[str, object]:
        def effects(items: Mapping[str, Effect]) -> dict[str, list[object]]:
            return {k: [e.start, e.end, e.digest, e.protected] for k, e in items.items()}

        return {
            "sticky": effects(self.sticky),
            "cooldown": effects(self.cooldown),
            "fired": dict(self.fired),
        }

    @classmethod
    def from_dict(cls, data: object, where: str = "lore timers") -> LoreTimers:
        """Read what `to_dict` wrote; anything malformed is a one-line `LoreweaverError`."""
        if not isinstance(data, dict):
            raise LoreweaverError(f"{where}: must be an object, got {type(data).__name__}")

        def effects(name: str) -> dict[str, Effect]:
            raw = data.get(name, {})
            if not isinstance(raw, dict) or len(raw) > MAX_TIMERS:
                raise LoreweaverError(
                    f"{where}.{name}: must be an object of at most {MAX_TIMERS} timers"
                )
            out = {}
            for key, value in raw.items():
                if not (
                    isinstance(value, list)
                    and len(value) == 4
                    and _is_int(value[0])
                    and _is_int(value[1])
                    and isinstance(value[2], str)
                    and isinstance(value[3], bool)
                ):
                    raise LoreweaverError(
                        f"{where}.{name}.{key}: must be [start, end, digest, protected]"
                    )
                out[str(key)] = Effect(value[0], value[1], value[2], value[3])
            return out

        fired = data.get("fired", {})
        if (
            not isinstance(fired, dict)
            or len(fired) > MAX_TIMERS
            or not all(_is_int(v) for v in fired.values())
        ):
            raise LoreweaverError(
                f"{where}.fired: must map at most {MAX_TIMERS} entry keys to turn numbers"
            )
        return cls(effects("sticky"), effects("cooldown"), {str(k): v for k, v in fired.items()})


@dataclass(frozen=True)
class Timing:
    """What the timers need to know about one entry this turn."""

    digest: str
    sticky: int
    cooldown: int


@dataclass(frozen=True)
class TimerView:
    """The effects in force on this turn, and those to carry over untouched."""

    sticky: dict[str, Effect]
    cooldown: dict[str, Effect]
    fired: dict[str, int]
    foreign_sticky: dict[str, Effect]
    foreign_cooldown: dict[str, Effect]
    """Effects of entries not loaded this turn (another book): kept until they run out."""


def digest(entry: LoreEntry) -> str:
    return hashlib.blake2b(entry.model_dump_json().encode(), digest_size=8).hexdigest()


def current(timers: LoreTimers, turn: int, entries: Mapping[str, Timing]) -> TimerView:
    """Expire what has run out by `turn`; a sticky span that ends starts its cooldown."""
    view = TimerView({}, {}, {k: v for k, v in timers.fired.items() if v <= turn}, {}, {})
    cooldowns = dict(timers.cooldown)
    for key, effect in timers.sticky.items():
        info = entries.get(key)
        if info is None:
            if turn <= effect.end:
                view.foreign_sticky[key] = effect
        elif _still_valid(effect, turn, info, info.sticky):
            if turn <= effect.end:
                view.sticky[key] = effect
            elif info.cooldown:
                cooldowns[key] = Effect(effect.end, effect.end + info.cooldown, info.digest, True)
    for key, effect in cooldowns.items():
        info = entries.get(key)
        if info is None:
            if turn <= effect.end:
                view.foreign_cooldown[key] = effect
        elif _still_valid(effect, turn, info, info.cooldown) and turn <= effect.end:
            view.cooldown[key] = effect
    return view


def advance(view: TimerView, turn: int, fired: Iterable[tuple[str, Timing]]) -> LoreTimers:
    """The timers to keep after `turn`, given the entries that fired on it."""
    sticky = {**view.foreign_sticky, **view.sticky}
    cooldown = {**view.foreign_cooldown, **view.cooldown}
    first = dict(view.fired)
    for key, info in fired:
        first[key] = min(first.get(key, turn), turn)
        if key in sticky or key in cooldown:
            continue
        if info.sticky:
            sticky[key] = Effect(turn, turn + info.sticky, info.digest)
        elif info.cooldown:
            cooldown[key] = Effect(turn, turn + info.cooldown, info.digest)
    return LoreTimers(sticky, cooldown, first)


def sticky_reason(effect: Effect) -> str:
    return f"sticky: fired on turn {effect.start}, active through turn {effect.end}"


def cooldown_reason(effect: Effect, turn: int) -> str:
    left = effect.end - turn + 1
    plural = "s" if left != 1 else ""
    return f"cooldown {left} turn{plural} (can fire again on turn {effect.end + 1})"


def _still_valid(effect: Effect, turn: int, info: Timing, length: int) -> bool:
    if turn <= effect.start and not effect.protected:
        return False  # the chat did not move past the turn that started it
    return info.digest == effect.digest and length > 0


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
