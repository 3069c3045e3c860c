"""What a lorebook that does not say gets: SillyTavern's shipped world-info settings.

World-info files and the books SillyTavern embeds in cards carry no budget, recursion or
whole-word setting: SillyTavern reads those from its own settings, which ship as
`world_info_budget: 25` (percent of the context window), `world_info_budget_cap: 0` (no cap),
`world_info_recursive: true`, `world_info_match_whole_words: true` and
`world_info_case_sensitive: false`. The same names (without the prefix) are the `world_info`
group of Loreweaver's settings; a book's own value wins over them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from app.sheets.lorebook import Lorebook


class WorldInfoSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    budget: int = Field(25, ge=1, le=100)
    """Percent of the context window lore may fill (constant entries count against it)."""
    budget_cap: int = Field(0, ge=0, le=1_000_000)
    """At most this many tokens for the percent share; 0: no cap (SillyTavern's meaning)."""
    recursive: bool = True
    match_whole_words: bool = True
    case_sensitive: bool = False


@dataclass(frozen=True)
class Budget:
    tokens: int
    rule: str
    """How `tokens` was reached, for `--explain` and the lore test."""


def lore_budget(books: Sequence[Lorebook], n_ctx: int, settings: WorldInfoSettings) -> Budget:
    """The tokens lore may use in an `n_ctx` window.

    A book's own `token_budget` (the largest, if several set one) is taken as it is, never more
    than the window. Otherwise SillyTavern's rule: `round(percent × n_ctx / 100)` (at least 1),
    the percent being a book's `budget_percent` (the largest) or the settings', then cut to the
    settings' `budget_cap` when that is set.
    """
    own = [b.token_budget for b in books if b.token_budget is not None]
    if own:
        tokens = min(max(own), n_ctx)
        return Budget(tokens, f"{tokens} tokens, the book's own token_budget")
    shares = [b.budget_percent for b in books if b.budget_percent is not None]
    percent = max(shares) if shares else settings.budget
    source = "the book's budget_percent" if shares else "settings world_info.budget"
    tokens = round(percent * n_ctx / 100) or 1
    rule = f"{percent} % of the {n_ctx}-token window ({source})"
    if settings.budget_cap and tokens > settings.budget_cap:
        tokens = settings.budget_cap
        rule += f", capped at {tokens} (world_info.budget_cap)"
    return Budget(tokens, rule)


def defaults_used(books: Sequence[Lorebook], settings: WorldInfoSettings) -> list[str]:
    """One phrase per switch some book leaves unset, naming the default that applied."""
    out = []
    for field, value, name in (
        ("recursive_scanning", settings.recursive, "recursion"),
        ("match_whole_words", settings.match_whole_words, "match whole words"),
        ("case_sensitive", settings.case_sensitive, "case-sensitive"),
    ):
        unset = sum(1 for b in books if getattr(b, field) is None)
        if unset:
            which = "no book sets" if unset == len(books) else f"{unset} books do not set"
            state = "on" if value else "off"
            out.append(f"{name} {state}: the settings' default ({which} {field})")
    return out
