"""Where a character's barks are kept: `characters/barks/ID.yaml` in the home.

A YAML file beside the user's sheets rather than rows in the chat database: barks are authored
content, like the sheet, that a designer reviews, edits by hand, diffs and ships with the game;
the chat store holds conversations. A subfolder, so the sheet list never mistakes the file for
a sheet, and so sample characters (read-only, in the package) get their barks in the home too.
Writes are atomic (a crash leaves the old file).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from app.home import Home
from app.npc.barks import Bark
from app.settings import load_yaml_model, save_yaml_model

BARKS_DIR = "barks"


class BarkFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    barks: list[Bark] = Field(default_factory=list, max_length=10_000)


def barks_path(home: Home, character_id: str) -> Path:
    return home.characters / BARKS_DIR / f"{character_id}.yaml"


def load_barks(home: Home, character_id: str) -> list[Bark]:
    """The character's stored barks (none when there is no file); a bad file is one line."""
    return load_yaml_model(barks_path(home, character_id), BarkFile, "barks").barks


def save_barks(home: Home, character_id: str, barks: list[Bark]) -> Path:
    path = barks_path(home, character_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_yaml_model(home, path, BarkFile(barks=barks))
    return path


def merged(stored: list[Bark], trigger: str, fresh: list[Bark]) -> list[Bark]:
    """The stored set after a new generation for `trigger`: its kept barks stay, its
    unreviewed ones give way to `fresh`; other triggers are untouched."""
    return [b for b in stored if b.trigger != trigger or b.status == "kept"] + fresh
