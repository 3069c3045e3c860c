"""The character sheet as the text in the editor's boxes, and back.

Kept free of Textual so the round trip (sheet → boxes → sheet) is tested on its own: the editor
screen only moves these strings in and out of widgets. Each field has a kind that says how it is
typed: a single line, free text, one item per line, YAML (for structured lists and mappings), or
a whole number. Keys the sheet does not know are kept in an "other fields" YAML box.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import yaml

from app.errors import LoreweaverError
from app.sheets.cards.reader import parse_yaml_text
from app.sheets.sheet import Sheet

FieldKind = Literal["line", "text", "lines", "yaml", "number"]
OTHER = "other_fields"
"""The box holding keys the sheet model does not declare (kept so nothing is lost)."""
TOKENS_PER_WORD = 1.3


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    kind: FieldKind
    tab: str


def _specs(tab: str, *rows: tuple[str, str, FieldKind]) -> tuple[FieldSpec, ...]:
    return tuple(FieldSpec(name, label, kind, tab) for name, label, kind in rows)


FIELDS: tuple[FieldSpec, ...] = (
    *_specs(
        "Character",
        ("name", "Name", "line"),
        ("nickname", "Nickname", "line"),
        ("description", "Description", "text"),
        ("personality", "Personality", "text"),
        ("scenario", "Scenario", "text"),
        ("first_message", "First message", "text"),
        ("alternate_greetings", "Alternate greetings (YAML list)", "yaml"),
        ("group_only_greetings", "Group-only greetings (YAML list)", "yaml"),
        ("example_dialogues", "Example dialogues (<START> between)", "text"),
    ),
    *_specs(
        "NPC",
        ("role", "Role", "line"),
        ("goals", "Goals (one per line)", "lines"),
        ("knowledge", "Knowledge (one per line)", "lines"),
        ("unknowns", "Does not know (one per line)", "lines"),
        ("speech_style", "Speech style", "text"),
        ("catchphrases", "Catchphrases (one per line)", "lines"),
        ("relationships", "Relationships (YAML: name, kind, trust, notes)", "yaml"),
        ("refusals", "Refusals (YAML: topic, reply)", "yaml"),
        ("state", "State variables (YAML: name, type, default, description)", "yaml"),
    ),
    *_specs(
        "Prompt & card",
        ("system_prompt", "System prompt", "text"),
        ("post_history_instructions", "Post-history instructions", "text"),
        ("world", "Shared lorebooks (ids, one per line)", "lines"),
        ("tags", "Tags (one per line)", "lines"),
        ("creator", "Creator", "line"),
        ("version", "Version", "line"),
        ("creator_notes", "Creator notes", "text"),
        ("creator_notes_multilingual", "Creator notes by language (YAML)", "yaml"),
        ("source", "Sources (one per line)", "lines"),
        ("creation_date", "Created (Unix time)", "number"),
        ("modification_date", "Modified (Unix time)", "number"),
        ("avatar", "Avatar file", "line"),
        ("assets", "Assets (YAML)", "yaml"),
        ("extensions", "Extensions (YAML)", "yaml"),
        ("adapters", "LoRA adapters (YAML: file, scale)", "yaml"),
        (OTHER, "Other fields (YAML)", "yaml"),
    ),
)
TABS: tuple[str, ...] = ("Character", "NPC", "Prompt & card")
_BY_NAME = {spec.name: spec for spec in FIELDS}


def yaml_text(value: object) -> str:
    if value in (None, [], {}):
        return ""
    return yaml.safe_dump(value, sort_keys=False, allow_unicode=True, width=100)


def sheet_texts(sheet: Sheet) -> dict[str, str]:
    """What each box shows for `sheet` (every field but the lorebook, which has its own tab)."""
    dumped = sheet.model_dump(mode="json", exclude_defaults=True, exclude={"character_book"})
    texts: dict[str, str] = {}
    for spec in FIELDS:
        if spec.name == OTHER:
            extra = {k: v for k, v in dumped.items() if k not in Sheet.model_fields}
            texts[spec.name] = yaml_text(extra)
            continue
        value = dumped.get(spec.name)
        if spec.kind == "lines":
            texts[spec.name] = "\n".join(str(item) for item in value or [])
        elif spec.kind == "yaml":
            texts[spec.name] = yaml_text(value)
        else:
            texts[spec.name] = "" if value is None else str(value)
    return texts


def parse_yaml(label: str, text: str) -> object:
    """A YAML box's value; a syntax error is one line naming the box and the line."""
    if not text.strip():
        return None
    try:
        return parse_yaml_text(text, label)
    except LoreweaverError as exc:
        raise ValueError(str(exc)) from None


def parse_number(label: str, text: str) -> int | None:
    if not text.strip():
        return None
    try:
        return int(text.strip())
    except ValueError:
        raise ValueError(f"{label}: must be a whole number, got {text.strip()!r}") from None


def split_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def form_data(texts: dict[str, str]) -> tuple[dict[str, object], dict[str, str]]:
    """The sheet mapping the boxes describe, and a message per box that could not be read.

    Empty optional boxes are left out (the field keeps its default); the result still has to
    pass `library.validate_sheet`, which names the first field that is wrong.
    """
    data: dict[str, object] = {}
    errors: dict[str, str] = {}
    extra: dict[str, object] = {}
    for spec in FIELDS:
        text = texts.get(spec.name, "")
        try:
            if spec.kind in ("line", "text"):
                if spec.name == "avatar":
                    data[spec.name] = text.strip() or None
                else:
                    data[spec.name] = text.strip() if spec.kind == "line" else text
            elif spec.kind == "lines":
                data[spec.name] = split_lines(text)
            elif spec.kind == "number":
                data[spec.name] = parse_number(spec.name, text)
            else:
                value = parse_yaml(spec.name, text)
                if spec.name == OTHER:
                    extra = _other_fields(value)
                elif value is not None:
                    data[spec.name] = value
        except ValueError as exc:
            errors[spec.name] = str(exc)
    for key, value in extra.items():
        data.setdefault(key, value)
    return data, errors


def _other_fields(value: object) -> dict[str, object]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"{OTHER}: must be a mapping of field: value")
    known = sorted(str(k) for k in value if k in Sheet.model_fields)
    if known:
        raise ValueError(f"{OTHER}: {known[0]!r} has its own box; edit it there")
    return {str(k): v for k, v in value.items()}


def error_field(message: str) -> str | None:
    """The top-level field a validation message names (`relationships[0].trust: …` →
    `relationships`), or None when it names no field of the sheet."""
    head = message.split(": ", 1)[0]
    name = head.split(".", 1)[0].split("[", 1)[0]
    return name if name in _BY_NAME or name == "character_book" else None


def estimate_tokens(text: str) -> int:
    """A model-free guess (words × 1.3), shown with a "~" until the engine can count."""
    return round(len(text.split()) * TOKENS_PER_WORD)
