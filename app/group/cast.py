"""The cast of a group scene: 2–8 distinct characters, each with its sheet and private books."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from app.engine.adapters import Adapter
from app.errors import LoreweaverError
from app.home import Home
from app.models import ModelInfo
from app.settings import Settings
from app.sheets import library
from app.sheets.lorebook import Lorebook
from app.sheets.sheet import Sheet
from app.speaker_adapters import speaker_adapters

MIN_CAST = 2
MAX_CAST = 8
TALKATIVENESS = "talkativeness"
"""SillyTavern's card field (`data.extensions.talkativeness`, 0–1, a string or a number)."""
DEFAULT_TALKATIVENESS = 0.5
"""SillyTavern's default when a card has none."""


@dataclass
class Member:
    """One NPC of the scene. `own_book` is its embedded lorebook: seen only in its own prompt."""

    id: str
    sheet: Sheet
    world: list[Lorebook] = field(default_factory=list)
    own_book: Lorebook | None = None
    adapters: tuple[Adapter, ...] = ()
    """The LoRA set it speaks with on the scene's model (`give_adapters`)."""

    @property
    def name(self) -> str:
        return self.sheet.name

    @property
    def talkativeness(self) -> float:
        """How likely the NPC speaks up when turns are drawn by weight (0–1; junk reads as the
        default, so a hand-edited sheet cannot stop the scene)."""
        raw = self.sheet.extensions.get(TALKATIVENESS, DEFAULT_TALKATIVENESS)
        try:
            value = float(raw)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return DEFAULT_TALKATIVENESS
        return min(max(value, 0.0), 1.0) if math.isfinite(value) else DEFAULT_TALKATIVENESS


def check_cast(ids: list[str], minimum: int = MIN_CAST) -> None:
    """Refuse a cast of the wrong size or with an id twice, naming it (a scripted scene may
    have one NPC: `minimum`)."""
    if not minimum <= len(ids) <= MAX_CAST:
        raise LoreweaverError(
            f"a group scene needs {minimum} to {MAX_CAST} characters, got {len(ids)}"
        )
    seen: set[str] = set()
    for ref in ids:
        if ref in seen:
            raise LoreweaverError(f"cast: character {ref!r} is named twice")
        seen.add(ref)


def load_cast(home: Home, ids: list[str], minimum: int = MIN_CAST) -> list[Member]:
    """The members for `ids`, every one checked before anything is stored: a missing sheet or a
    duplicate (also the same sheet under two names) is one error naming it."""
    check_cast(ids, minimum)
    members: list[Member] = []
    for ref in ids:
        try:
            entry, sheet = library.load(home, ref)
        except LoreweaverError as exc:
            raise LoreweaverError(f"cast: {exc}") from None
        if any(m.id == entry.id for m in members):
            raise LoreweaverError(f"cast: character {entry.id!r} is named twice")
        books = library.world_books(home, sheet)
        own = (
            sheet.character_book if sheet.character_book and sheet.character_book.entries else None
        )
        world = [book for _, book in books if book is not own]
        members.append(Member(entry.id, sheet, world, own))
    names = [m.name for m in members]
    twice = next((n for n in names if names.count(n) > 1), None)
    if twice is not None:
        raise LoreweaverError(
            f"cast: two characters are called {twice!r}; lines would be ambiguous"
        )
    return members


def give_adapters(cast: list[Member], info: ModelInfo, settings: Settings, home: Home) -> None:
    """Give each member the adapters it speaks with on `info`'s model (`speaker_adapters`):
    every file is found before the engine loads."""
    for member in cast:
        member.adapters = tuple(speaker_adapters(info, member.sheet, settings, home))
