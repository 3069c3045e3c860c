"""The character sheet: what a character is, as a designer writes it in YAML.

It holds everything Character Card V2/V3 hold, under the friendly names a designer types
(`cardmap` maps them to the card names), plus what game NPCs need and cards lack: role, goals,
knowledge and its limits, relationships with trust, speech style, in-character refusals and
state variables. Unknown keys are kept (`extra="allow"`) so nothing another tool wrote is lost.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.sheets.lorebook import Lorebook, refuse_non_finite

MAX_TEXT = 200_000
MAX_ITEMS = 1000
VarType = Literal["int", "float", "bool", "text"]
_KINDS: dict[str, type | tuple[type, ...]] = {
    "int": int,
    "float": (int, float),
    "bool": bool,
    "text": str,
}
_ZERO: dict[str, int | float | bool | str] = {"int": 0, "float": 0.0, "bool": False, "text": ""}


class Relationship(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str = Field(min_length=1, max_length=200)
    """`{{user}}` for the player, or another character's name or id."""
    kind: str = Field("", max_length=200)
    trust: int = Field(0, ge=-100, le=100)
    notes: str = Field("", max_length=MAX_TEXT)


class Refusal(BaseModel):
    """A topic the character will not discuss, and how they deflect it in character."""

    model_config = ConfigDict(extra="allow")

    topic: str = Field(min_length=1, max_length=500)
    reply: str = Field("", max_length=MAX_TEXT)


class StateVar(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
    type: VarType = "int"
    default: int | float | bool | str | None = None
    description: str = Field("", max_length=2000)

    @model_validator(mode="after")
    def _default_matches_type(self) -> StateVar:
        if self.default is None:
            self.default = _ZERO[self.type]
        elif (
            isinstance(self.default, bool)
            and self.type != "bool"
            or not isinstance(self.default, _KINDS[self.type])
        ):
            raise ValueError(f"default {self.default!r} is not of type {self.type}")
        return self


class Asset(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str = "icon"
    uri: str = Field(max_length=4096)
    name: str = "main"
    ext: str = "png"


MAX_ADAPTERS = 8
"""LoRA adapters applied at once, at most: more than a few is a mistake, not a voice."""


class AdapterRef(BaseModel):
    """A LoRA adapter that gives the character its voice: a GGUF adapter file for the model in
    use (a bare name is looked up in the models folders) and how strongly it applies."""

    model_config = ConfigDict(extra="forbid")

    file: str = Field(min_length=1, max_length=4096)
    scale: float = Field(1.0, ge=-4.0, le=4.0, allow_inf_nan=False)
    """1 is the strength it was trained at; 0 switches it off."""

    @model_validator(mode="before")
    @classmethod
    def _bare_name(cls, data: object) -> object:
        return {"file": data} if isinstance(data, str) else data


class CardKept(BaseModel):
    """What the card a sheet came from held that no sheet field can, written back on export."""

    model_config = ConfigDict(extra="forbid")

    root: dict[str, Any] = Field(default_factory=dict)
    """Fields beside `spec` and `data` that are the card's own (SillyTavern's `chat`,
    `create_date`, `talkativeness`, `avatar`…), as they were."""
    root_copies: list[str] = Field(default_factory=list)
    """Root fields that copy a card field (SillyTavern's V1 copies): written from the sheet."""
    avatar: Any = None
    """The card's `data.avatar` (a reference of its own, not our avatar image)."""
    untyped: dict[str, Any] = Field(default_factory=dict)
    """Card fields as the card had them where their value fits no sheet type (a tag that is an
    object, a date as text); exported under `extensions.loreweaver.untyped`."""


class Sheet(BaseModel):
    model_config = ConfigDict(extra="allow")

    # -- Character Card V2 / V3 ---------------------------------------------------------------
    name: str = Field(min_length=1, max_length=200)
    nickname: str = Field("", max_length=200)
    description: str = Field("", max_length=MAX_TEXT)
    personality: str = Field("", max_length=MAX_TEXT)
    scenario: str = Field("", max_length=MAX_TEXT)
    first_message: str = Field("", max_length=MAX_TEXT)
    alternate_greetings: list[str] = Field(default_factory=list, max_length=MAX_ITEMS)
    group_only_greetings: list[str] = Field(default_factory=list, max_length=MAX_ITEMS)
    example_dialogues: str = Field("", max_length=MAX_TEXT)
    """Example exchanges, separated by `<START>` lines as in `mes_example`."""
    system_prompt: str = Field("", max_length=MAX_TEXT)
    post_history_instructions: str = Field("", max_length=MAX_TEXT)
    creator_notes: str = Field("", max_length=MAX_TEXT)
    creator_notes_multilingual: dict[str, str] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list, max_length=MAX_ITEMS)
    creator: str = Field("", max_length=500)
    version: str = Field("", max_length=200)
    source: list[str] = Field(default_factory=list, max_length=MAX_ITEMS)
    creation_date: int | None = None
    modification_date: int | None = None
    avatar: str | None = Field(None, max_length=500)
    """The avatar image file, beside the sheet (e.g. `brenna.png`)."""
    assets: list[Asset] = Field(default_factory=list, max_length=MAX_ITEMS)
    character_book: Lorebook | None = None
    world: list[str] = Field(default_factory=list, max_length=100)
    """Ids of shared lorebooks (worlds) this character draws on."""
    extensions: dict[str, object] = Field(default_factory=dict)
    card: CardKept | None = None

    # -- What game NPCs need and cards lack ----------------------------------------------------
    role: str = Field("", max_length=500)
    goals: list[str] = Field(default_factory=list, max_length=MAX_ITEMS)
    knowledge: list[str] = Field(default_factory=list, max_length=MAX_ITEMS)
    unknowns: list[str] = Field(default_factory=list, max_length=MAX_ITEMS)
    """What the character explicitly does not know, and must not pretend to."""
    relationships: list[Relationship] = Field(default_factory=list, max_length=MAX_ITEMS)
    speech_style: str = Field("", max_length=MAX_TEXT)
    catchphrases: list[str] = Field(default_factory=list, max_length=MAX_ITEMS)
    refusals: list[Refusal] = Field(default_factory=list, max_length=MAX_ITEMS)
    state: list[StateVar] = Field(default_factory=list, max_length=200)
    adapters: list[AdapterRef] = Field(default_factory=list, max_length=MAX_ADAPTERS)
    """LoRA adapters applied while this character speaks (`app.engine.adapters`)."""

    @model_validator(mode="before")
    @classmethod
    def _finite(cls, data: object) -> object:
        return refuse_non_finite(data)

    @model_validator(mode="after")
    def _unique_state_names(self) -> Sheet:
        names = [var.name for var in self.state]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"state variable {duplicates[0]!r} is declared twice")
        return self
