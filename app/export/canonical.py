"""The canonical JSON export: every line, variant, speaker, seed and setting, validated by the
JSON Schema shipped beside it (`schema/dialogue.schema.json`)."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from app.export.graph import Dialogue
from app.text import safe_json

FORMAT = "loreweaver-dialogue"
VERSION = 1


def schema() -> dict[str, Any]:
    """The published schema (also a file in the package, for tools outside Loreweaver)."""
    text = resources.files("app.export").joinpath("schema/dialogue.schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def to_data(dialogue: Dialogue) -> dict[str, Any]:
    lines = []
    parents: dict[str, str | None] = {line.id: None for line in dialogue.roots}
    for line in dialogue.lines():
        for child in line.children:
            parents[child.id] = line.id
        lines.append(
            {
                "id": line.id,
                "parent": parents[line.id],
                "role": line.role,
                "speaker": line.speaker,
                "children": [child.id for child in line.children],
                "variants": [
                    {
                        "id": line.variant_id(index),
                        "text": variant.text,
                        "emotion": variant.emotion,
                        "action": variant.action,
                        "meta": variant.meta,
                    }
                    for index, variant in enumerate(line.variants)
                ],
            }
        )
    return {
        "format": FORMAT,
        "version": VERSION,
        "chat": {
            "id": dialogue.namespace,
            "title": dialogue.title,
            "character_id": dialogue.character_id,
            "user_name": dialogue.user_name,
            "meta": dialogue.meta,
        },
        "roots": [line.id for line in dialogue.roots],
        "lines": lines,
    }


def export(dialogue: Dialogue) -> str:
    """Text kept exactly; the controls JSON leaves raw are `\\u` escapes (safe in a terminal)."""
    dumped = json.dumps(to_data(dialogue), ensure_ascii=False, indent=2, sort_keys=True)
    return safe_json(dumped) + "\n"
