"""The character library as a collection a browser shows: summaries, search, creation, copy
and removal.

A broken sheet still gets a summary (carrying its error) so one bad file never hides the rest.
Only the user's own sheets can be removed; samples are read-only and can only be copied.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

from app.errors import LoreweaverError
from app.fsutil import write_bytes_atomic, write_text_atomic
from app.home import Home
from app.sheets import library
from app.sheets.ids import ID_RULE, is_id
from app.sheets.macros import substitute
from app.sheets.transfer import dump_yaml

BLURB_CHARS = 200
AVATAR_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bin")


@dataclass(frozen=True)
class Summary:
    id: str
    name: str
    tags: tuple[str, ...]
    blurb: str
    """The description's first line, macros filled in, cut to `BLURB_CHARS`."""
    sample: bool
    error: str | None = None

    def matches(self, query: str) -> bool:
        """Every word of the query appears in the id, name, tags or blurb (case-insensitive)."""
        haystack = " ".join((self.id, self.name, *self.tags, self.blurb)).casefold()
        return all(word in haystack for word in query.casefold().split())


def summarize(entry: library.Entry, *, user: str = "User") -> Summary:
    try:
        sheet = library.load_sheet(entry.path)
    except LoreweaverError as exc:
        return Summary(entry.id, entry.id, (), "", entry.sample, error=str(exc))
    lines = sheet.description.strip().splitlines()
    first = substitute(lines[0], char=sheet.name, user=user) if lines else ""
    return Summary(entry.id, sheet.name, tuple(sheet.tags), first[:BLURB_CHARS], entry.sample)


def summaries(home: Home, *, user: str = "User") -> list[Summary]:
    return [summarize(entry, user=user) for entry in library.entries(home)]


def check_new_id(home: Home, new_id: str) -> str:
    """A valid id no character uses yet (a user sheet would otherwise shadow a sample)."""
    new_id = new_id.strip()
    if not is_id(new_id):
        raise LoreweaverError(f"id {new_id!r}: use lowercase {ID_RULE}")
    if any(entry.id == new_id for entry in library.entries(home)):
        raise LoreweaverError(f"a character {new_id!r} already exists; choose another id")
    return new_id


BLANK_SHEET = """\
# A new character. Fill in what you need: empty fields are left out of the prompt.
# `loreweaver characters show brenna` prints a complete example.
{name}description: ""
personality: ""
scenario: ""
first_message: ""
example_dialogues: ""
role: ""
goals: []
knowledge: []
unknowns: []
speech_style: ""
world: []
"""
"""A blank sheet: the fields a designer fills first, each present so the file shows them."""


def new_character(home: Home, new_id: str, name: str | None = None) -> library.Entry:
    """Write a blank sheet (`BLANK_SHEET`) into the home as `new_id`; the name defaults to the
    id in words (`old_tam` → `Old Tam`)."""
    new_id = check_new_id(home, new_id)
    name = " ".join((name or "").split()) or new_id.replace("_", " ").replace("-", " ").title()
    text = BLANK_SHEET.format(name=yaml.safe_dump({"name": name}, allow_unicode=True, width=10**6))
    library.validate_sheet(yaml.safe_load(text))  # a bad name fails here, before any write
    target = home.ensure().characters / f"{new_id}.yaml"
    try:
        write_text_atomic(target, text)
    except OSError as exc:
        raise LoreweaverError(f"cannot write: {exc.strerror}", path=target) from None
    return library.Entry(new_id, target, False)


def duplicate(home: Home, ref: str, new_id: str) -> library.Entry:
    """Copy a character (the user's or a sample) into the home under a new id.

    A sheet without an avatar is copied byte for byte, so the designer's comments survive.
    """
    new_id = check_new_id(home, new_id)
    entry, sheet = library.load(home, ref)
    home.ensure()
    target = home.characters / f"{new_id}.yaml"
    avatar = entry.path.parent / Path(sheet.avatar).name if sheet.avatar else None
    try:
        assets = entry.path.parent / f"{entry.id}.assets"
        if assets.is_dir():
            shutil.copytree(assets, home.characters / f"{new_id}.assets", dirs_exist_ok=True)
        if avatar is not None and avatar.is_file():
            avatar_name = f"{new_id}{avatar.suffix.lower()}"
            write_bytes_atomic(home.characters / avatar_name, avatar.read_bytes())
            write_text_atomic(target, dump_yaml(sheet.model_copy(update={"avatar": avatar_name})))
        else:
            write_bytes_atomic(target, entry.path.read_bytes())
    except OSError as exc:
        raise LoreweaverError(f"cannot copy {entry.id!r}: {exc.strerror}", path=target) from None
    return library.Entry(new_id, target, False)


def delete(home: Home, character_id: str) -> None:
    """Remove one of the user's characters: its sheet, avatar and assets. Chats are kept."""
    entry = next((e for e in library.entries(home) if e.id == character_id), None)
    if entry is None:
        raise LoreweaverError(f"unknown character {character_id!r}")
    if entry.sample:
        raise LoreweaverError(f"{character_id!r} is a bundled sample; samples cannot be deleted")
    # Only an avatar named for this id is its own: a hand-edited sheet may point at another's.
    avatars = [
        path
        for path in home.characters.iterdir()
        if path.stem == character_id and path.suffix.lower() in AVATAR_SUFFIXES and path.is_file()
    ]
    try:
        for avatar in avatars:
            avatar.unlink()
        shutil.rmtree(home.characters / f"{character_id}.assets", ignore_errors=True)
        entry.path.unlink()
    except OSError as exc:
        raise LoreweaverError(f"cannot delete: {exc.strerror}", path=entry.path) from None
