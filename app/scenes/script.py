"""A scene script: the YAML a writer keeps in git, validated by pydantic before anything runs.

Each beat does one thing (`player`, `npc`, `say`, `talk`, `choices`, `set`, `goto` or `end`),
may be gated by `when`, and may carry a `label` to jump to. Choices fork the scene: each choice
has its own beats, then continues after the choice block (a rejoin), or at `goto`, or ends.
Errors read `scene.yaml: beats[3].choices[1]: what is wrong`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from app.errors import LoreweaverError
from app.group.order import Order
from app.sheets.cards.reader import read_yaml_file
from app.sheets.ids import slug
from app.sheets.validation import describe

MAX_CAST = 8
MAX_ALTERNATIVES = 8
MAX_CHOICES = 8
MAX_TALK = 12
MAX_RETRIES = 5
MAX_LINE = 2000
MAX_SCENE_ID = 60
ANY = "any"
"""`npc: any`: the speaker is chosen by the scene's turn order."""

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_LINE)]
Word = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,59}$")]
Ref = Annotated[str, StringConstraints(pattern=r"^[^\s]{1,80}$")]
Scalar = bool | int | float | Annotated[str, StringConstraints(max_length=200)]
KINDS = ("player", "npc", "say", "talk", "choices", "set", "goto", "end")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Persona(_Strict):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)] = (
        "Traveller"
    )
    description: Annotated[str, StringConstraints(max_length=MAX_LINE)] = ""


class SamplingSpec(_Strict):
    """The sampler settings of every NPC line (the seed comes from the scene and the node)."""

    temperature: float = Field(0.8, ge=0, le=5)
    top_p: float = Field(0.95, gt=0, le=1)
    top_k: int = Field(40, ge=0, le=1000)
    min_p: float = Field(0.05, ge=0, le=1)
    repeat_penalty: float = Field(1.1, ge=0.5, le=3)
    max_tokens: int = Field(60, ge=1, le=1024)


class Rules(_Strict):
    """Per-line constraints, checked on every attempt (see `app.scenes.constraints`)."""

    max_chars: int | None = Field(None, ge=10, le=MAX_LINE)
    must_mention: list[Word] = Field(default_factory=list, max_length=8)
    must_not_mention: list[Word] = Field(default_factory=list, max_length=32)


class Choice(_Strict):
    text: Text
    """What the player says by choosing it (the option's label in every export)."""
    when: Annotated[str, StringConstraints(max_length=500)] | None = None
    beats: list[Beat] = Field(default_factory=list, max_length=500)
    goto: Name | None = None
    """Continue at this label instead of after the choice block."""
    end: bool = False

    @model_validator(mode="after")
    def _one_exit(self) -> Choice:
        if self.goto is not None and self.end:
            raise ValueError("a choice either goes to a label or ends, not both")
        return self


class Beat(_Strict):
    label: Name | None = None
    when: Annotated[str, StringConstraints(max_length=500)] | None = None
    player: Text | None = None
    npc: Ref | None = None
    """A cast id, or `any` (the turn order picks)."""
    say: Text | None = None
    """A fixed line, said by `speaker` with no generation."""
    speaker: Ref | None = None
    talk: int | None = Field(None, ge=1, le=MAX_TALK)
    """NPC-to-NPC: this many lines in a row, speakers by the turn order."""
    choices: list[Choice] | None = Field(None, min_length=1, max_length=MAX_CHOICES)
    set: dict[Name | Annotated[str, StringConstraints(pattern=r"^\w+\.\w+$")], Scalar] | None = (
        Field(None, min_length=1, max_length=32)
    )
    goto: Name | None = None
    end: Literal[True] | None = None
    alternatives: int | None = Field(None, ge=1, le=MAX_ALTERNATIVES)
    rules: Rules | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Beat:
        given = [kind for kind in KINDS if getattr(self, kind) is not None]
        if len(given) != 1:
            found = f"got {', '.join(given)}" if given else "got none"
            raise ValueError(f"a beat does exactly one of {', '.join(KINDS)} ({found})")
        kind = given[0]
        if (self.speaker is not None) != (kind == "say"):
            raise ValueError("`speaker` names who says a `say` line, and only that")
        generated = kind in ("npc", "talk")
        if not generated and (self.alternatives is not None or self.rules is not None):
            raise ValueError("`alternatives` and `rules` apply to `npc` and `talk` lines only")
        return self

    @property
    def kind(self) -> str:
        return next(kind for kind in KINDS if getattr(self, kind) is not None)


class SceneScript(_Strict):
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,59}$")] | None = None
    cast: list[Ref] = Field(min_length=1, max_length=MAX_CAST)
    setting: Annotated[str, StringConstraints(max_length=4000)] = ""
    lore: list[Ref] = Field(default_factory=list, max_length=16)
    """Shared world lorebooks (by id) every NPC of the scene reads, beside their own."""
    persona: Persona = Persona()
    seed: int = Field(0, ge=0, le=2**31 - 1)
    model: Ref | None = None
    template: Ref | None = None
    sampling: SamplingSpec = SamplingSpec()
    order: Order = "round-robin"
    alternatives: int = Field(1, ge=1, le=MAX_ALTERNATIVES)
    retries: int = Field(2, ge=0, le=MAX_RETRIES)
    """Extra attempts (derived seeds) for a line that breaks its rules."""
    rules: Rules = Rules()
    """Rules every generated line keeps (a beat's own rules replace them)."""
    state: dict[Name, Scalar] = Field(default_factory=dict, max_length=64)
    """The scene's own variables and their starting values (set by `set`, read by `when`)."""
    beats: list[Beat] = Field(min_length=1, max_length=500)

    @model_validator(mode="after")
    def _distinct_cast(self) -> SceneScript:
        twice = next((ref for ref in self.cast if self.cast.count(ref) > 1), None)
        if twice is not None:
            raise ValueError(f"cast: {twice!r} is named twice")
        return self


def scene_id(script: SceneScript, path: Path) -> str:
    """The script's `id`, else one made from the file name (the namespace of its line ids)."""
    if script.id is not None:
        return script.id
    made = re.sub(r"[^a-z0-9_-]+", "_", slug(path.stem).lower()).strip("_-")[:MAX_SCENE_ID]
    return made or "scene"


def parse_script(data: dict[str, Any], path: Path) -> SceneScript:
    try:
        return SceneScript.model_validate(data)
    except ValidationError as exc:
        raise LoreweaverError(describe(exc), path=path) from None


def read_script(path: Path) -> SceneScript:
    """The script at `path`, or one error line naming the file and the field."""
    return parse_script(read_yaml_file(path, kind="scene script"), path)
