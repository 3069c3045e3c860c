"""Who the user plays: saved personas (a name and a description) in the home's `personas.yaml`.

One may be the default; one may be locked to a character, and is then used for that character's
new chats without asking. With none saved, the settings' `user_name`/`user_description` are the
persona, as before. A chat keeps the persona it was started with (see `session_start`).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from app.errors import LoreweaverError
from app.home import Home
from app.settings import Settings, load_yaml_model, save_yaml_model
from app.sheets.validation import describe

FILE_NAME = "personas.yaml"


class Persona(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=20_000)
    character: str | None = Field(None, max_length=200)
    """A character id: this persona is used for that character's chats automatically."""

    @field_validator("name")
    @classmethod
    def _one_line(cls, value: str) -> str:
        cleaned = " ".join(value.split())
        if not cleaned:
            raise ValueError("a persona needs a name")
        return cleaned


class Personas(BaseModel):
    model_config = ConfigDict(extra="forbid")

    default: str | None = None
    personas: list[Persona] = Field(default_factory=list, max_length=1000)

    def find(self, name: str) -> Persona:
        wanted = " ".join(name.split()).casefold()
        for persona in self.personas:
            if persona.name.casefold() == wanted:
                return persona
        known = ", ".join(p.name for p in self.personas) or "none saved"
        raise LoreweaverError(f"no persona named {name!r} (personas: {known})")

    def for_character(self, character_id: str) -> Persona | None:
        """The persona locked to `character_id`, else the default one, else None."""
        locked = next((p for p in self.personas if p.character == character_id), None)
        if locked is not None:
            return locked
        return next((p for p in self.personas if p.name == self.default), None)


def load_personas(home: Home) -> Personas:
    return load_yaml_model(home.root / FILE_NAME, Personas, "personas")


def save_personas(home: Home, personas: Personas) -> None:
    save_yaml_model(home, home.root / FILE_NAME, personas)


def add_persona(
    personas: Personas, name: str, description: str = "", *, character: str | None = None
) -> Personas:
    """A copy with `name` added, or replaced when a persona of that name exists."""
    try:
        persona = Persona(
            name=name, description=description.strip(), character=(character or "").strip() or None
        )
    except ValidationError as exc:
        raise LoreweaverError(f"persona: {describe(exc)}") from None
    kept = [p for p in personas.personas if p.name.casefold() != persona.name.casefold()]
    if persona.character is not None:  # one persona per character: the new lock wins
        kept = [
            p.model_copy(update={"character": None}) if p.character == persona.character else p
            for p in kept
        ]
    return personas.model_copy(update={"personas": [*kept, persona]})


def remove_persona(personas: Personas, name: str) -> Personas:
    gone = personas.find(name)
    return personas.model_copy(
        update={
            "personas": [p for p in personas.personas if p is not gone],
            "default": None if personas.default == gone.name else personas.default,
        }
    )


def with_default(personas: Personas, name: str | None) -> Personas:
    """A copy whose default is `name` (None: the settings' user name again)."""
    return personas.model_copy(update={"default": personas.find(name).name if name else None})


def choose_persona(
    home: Home, settings: Settings, character_id: str, *, name: str | None = None
) -> tuple[str, str]:
    """(name, description) for a new chat with `character_id`: the persona `name` when given,
    else the one locked to the character, else the default, else the settings' user."""
    personas = load_personas(home)
    persona = personas.find(name) if name else personas.for_character(character_id)
    if persona is None:
        return settings.user_name, settings.user_description
    return persona.name, persona.description
