"""Shared lorebooks (world books) as files: found by id, imported, exported.

Export writes SillyTavern's world-info JSON (`entries` keyed by uid, SillyTavern's field names)
or a V3 `lorebook_v3`; import takes those, a card-style book or a YAML book, and nothing else
(a character card goes through `characters import`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from app.errors import LoreweaverError
from app.fsutil import write_text_atomic
from app.home import Home
from app.sheets import library
from app.sheets.cards import read_card_file
from app.sheets.lorebook_map import lorebook_to_card, lorebook_to_world_info
from app.sheets.transfer import Imported, import_file

BookFormat = Literal["world-info", "v3"]
BOOK_FORMATS: tuple[str, ...] = ("world-info", "v3")


def find_lorebook(home: Home, book_id: str) -> Path:
    """The file of the shared lorebook `book_id`: the user's, else a sample's."""
    for folder in library.lorebook_dirs(home):
        path = folder / f"{book_id}.yaml"
        if path.is_file():
            return path
    known = sorted(
        {p.stem for folder in library.lorebook_dirs(home) for p in folder.glob("*.yaml")}
    )
    raise LoreweaverError(
        f"no lorebook {book_id!r} (known: {', '.join(known) or 'none'}; see `lorebooks list`)"
    )


def list_lorebooks(home: Home) -> list[tuple[str, Path]]:
    """(id, file) of every shared lorebook; the user's shadow a sample's of the same id."""
    found: dict[str, Path] = {}
    for folder in library.lorebook_dirs(home):
        for path in sorted(folder.glob("*.yaml")):
            found.setdefault(path.stem, path)
    return sorted(found.items())


def export_lorebook(home: Home, book_id: str, out: Path, fmt: str = "world-info") -> Path:
    if fmt not in BOOK_FORMATS:
        raise LoreweaverError(f"unknown format {fmt!r} (choose {', '.join(BOOK_FORMATS)})")
    book = library.load_lorebook(find_lorebook(home, book_id))
    data: dict[str, Any]
    if fmt == "world-info":
        data = lorebook_to_world_info(book)
    else:
        data = {"spec": "lorebook_v3", "data": lorebook_to_card(book)}
    write_text_atomic(out, json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    return out


def import_lorebook(home: Home, path: Path, *, as_id: str | None = None) -> Imported:
    """Import a lorebook file; a character card is refused, naming the command that takes it."""
    raw = read_card_file(path)
    is_book = raw.kind == "lorebook" or (
        raw.kind == "yaml" and "entries" in raw.card and "first_message" not in raw.card
    )
    if not is_book:
        raise LoreweaverError("is a character, not a lorebook (use `characters import`)", path=path)
    return import_file(home, path, as_id=as_id)
