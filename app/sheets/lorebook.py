"""Lorebooks (world info): entries of lore that enter the prompt when their keys come up.

The fields follow Character Card V2/V3's `character_book` plus SillyTavern's world-info
extensions (selective logic, depth, probability, groups, timed effects). Everything is stored
and validated here; `app.memory.lore.activation` decides what fires. Unknown keys are kept so a book
survives a round trip through Loreweaver untouched.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.untrusted import first_non_finite

MAX_TEXT = 200_000
SelectiveLogic = Literal["and_any", "not_all", "not_any", "and_all"]
Position = Literal[
    "before_char",
    "after_char",
    "at_depth",
    "before_examples",
    "after_examples",
    "top_of_notes",
    "bottom_of_notes",
]
Role = Literal["system", "user", "assistant"]

DECORATOR = re.compile(r"^@@(@?)([a-z_]+)(?:[ \t]+(.*))?$")


class Decorator(BaseModel):
    """A V3 `@@name value` line at the start of an entry's content; `fallback` for `@@@`."""

    model_config = ConfigDict(frozen=True)

    name: str
    value: str = ""
    fallback: bool = False


class LoreEntry(BaseModel):
    model_config = ConfigDict(extra="allow")

    keys: list[str] = Field(default_factory=list)
    content: str = Field("", max_length=MAX_TEXT)
    enabled: bool = True
    insertion_order: int = 100
    name: str | None = None
    comment: str = ""
    id: int | str | None = None
    case_sensitive: bool | None = None
    """None means the book's default, else the settings' (insensitive, as SillyTavern ships)."""
    match_whole_words: bool | None = None
    use_regex: bool = False
    """Kept for the round trip only: as in SillyTavern, a key is a regex when written `/…/`."""
    constant: bool = False
    selective: bool = False
    secondary_keys: list[str] = Field(default_factory=list)
    selective_logic: SelectiveLogic = "and_any"
    position: Position = "after_char"
    depth: int = Field(4, ge=0, le=10_000)
    role: Role = "system"
    priority: int = 10
    scan_depth: int | None = Field(None, ge=0, le=1000)
    probability: int = Field(100, ge=0, le=100)
    group: str = ""
    group_weight: int = Field(100, ge=0)
    sticky: int = Field(0, ge=0)
    cooldown: int = Field(0, ge=0)
    delay: int = Field(0, ge=0)
    exclude_recursion: bool = False
    prevent_recursion: bool = False
    delay_until_recursion: bool | int = False
    """SillyTavern's "delay until recursion": fires only on a recursion level (a number: from
    that level on)."""
    ignore_budget: bool = False
    """Enters the prompt even when the budget is spent (its tokens still count)."""
    group_override: bool = False
    """SillyTavern's "prioritize inclusion": wins its group by order, without a roll."""
    use_group_scoring: bool | None = None
    automation_id: str = ""
    extensions: dict[str, object] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _finite(cls, data: object) -> object:
        return lift_stored(refuse_non_finite(data))

    @field_validator("keys", "secondary_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        """Cards in the wild store keys as one comma-separated string as often as a list."""
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    def decorators(self) -> list[Decorator]:
        """The V3 decorators at the head of `content` (lines starting with `@@`)."""
        found = []
        for line in self.content.splitlines():
            match = DECORATOR.match(line.strip())
            if match is None:
                break
            found.append(
                Decorator(
                    name=match.group(2),
                    value=(match.group(3) or "").strip(),
                    fallback=bool(match.group(1)),
                )
            )
        return found

    def text(self) -> str:
        """The content without its decorator lines: what goes into the prompt."""
        lines = self.content.splitlines()
        while lines and DECORATOR.match(lines[0].strip()):
            lines.pop(0)
        return "\n".join(lines).strip()


LIFTED = {
    "groupOverride": "group_override",
    "useGroupScoring": "use_group_scoring",
    "delayUntilRecursion": "delay_until_recursion",
    "ignoreBudget": "ignore_budget",
    "automationId": "automation_id",
}
"""SillyTavern settings that books saved by older Loreweaver kept under
`extensions.sillytavern` (their world-info names) or `extensions` (their card names)."""


def lift_stored(data: object) -> object:
    """Read the settings older saves left in `extensions` into their fields (the file is
    rewritten with them in place the next time it is saved)."""
    if not isinstance(data, dict) or not isinstance(data.get("extensions"), dict):
        return data
    data, ext = dict(data), dict(data["extensions"])
    st = ext.get("sillytavern")
    if isinstance(st, dict):
        st = dict(st)
        for st_name, field in LIFTED.items():
            if st_name in st:
                data.setdefault(field, st.pop(st_name))
        ext["sillytavern"] = st
    for field in LIFTED.values():
        if field in ext:
            data.setdefault(field, ext.pop(field))
    data["extensions"] = ext
    return data


def refuse_non_finite(data: object) -> object:
    """For a before-validator: infinity or NaN anywhere (a state default, an extension) fails."""
    where = first_non_finite(data)
    if where is not None:
        raise ValueError(f"{where}: must be a finite number (not .inf or .nan)")
    return data


class Lorebook(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str = ""
    description: str = ""
    scan_depth: int = Field(2, ge=0, le=1000)
    token_budget: int | None = Field(None, ge=0, le=1_000_000)
    """Tokens for this book's entries; None: a share of the window (`budget_percent`)."""
    budget_percent: int | None = Field(None, ge=1, le=100)
    """The share of the context window for lore; None: the settings' (SillyTavern's 25 %)."""
    recursive_scanning: bool | None = None
    case_sensitive: bool | None = None
    match_whole_words: bool | None = None
    """Defaults for entries that leave these unset; None: the settings' (SillyTavern's shipped
    settings: recursion and whole words on, case-insensitive)."""
    entries: list[LoreEntry] = Field(default_factory=list, max_length=20_000)
    extensions: dict[str, object] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _finite(cls, data: object) -> object:
        return refuse_non_finite(data)
