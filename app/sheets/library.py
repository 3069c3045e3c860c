"""Finding and loading character sheets: the user's (in the home) and the bundled samples.

A character is named by its id (the file name without extension) or by a path to a sheet file.
User sheets shadow samples of the same id.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from app.errors import LoreweaverError
from app.home import Home, sample_characters_dir
from app.sheets.cards.reader import read_yaml_file
from app.sheets.lorebook import Lorebook
from app.sheets.sheet import Sheet
from app.sheets.validation import describe

SHEET_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Entry:
    id: str
    path: Path
    sample: bool


def sheet_dirs(home: Home) -> list[tuple[Path, bool]]:
    """Folders searched for sheets, highest priority first, each with whether it holds samples."""
    dirs: list[tuple[Path, bool]] = [(home.characters, False)]
    samples = sample_characters_dir()
    if samples is not None:
        dirs.append((samples, True))
    return dirs


def entries(home: Home) -> list[Entry]:
    seen: dict[str, Entry] = {}
    for folder, sample in sheet_dirs(home):
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() in SHEET_SUFFIXES and path.is_file():
                seen.setdefault(path.stem, Entry(path.stem, path, sample))
    return sorted(seen.values(), key=lambda e: e.id)


def resolve(home: Home, ref: str) -> Entry:
    """An id or a path to a sheet file → its entry; a clear error when it is neither."""
    candidate = Path(ref).expanduser()
    if candidate.suffix.lower() in SHEET_SUFFIXES or "/" in ref or _is_file(candidate):
        if not _is_file(candidate):
            raise LoreweaverError("no such character sheet file", path=candidate)
        return Entry(candidate.stem, candidate.resolve(), False)
    for entry in entries(home):
        if entry.id == ref:
            return entry
    known = ", ".join(e.id for e in entries(home)) or "none"
    raise LoreweaverError(f"unknown character {ref!r} (known: {known})")


def _is_file(path: Path) -> bool:
    """`path.is_file()`, False for a name the system refuses (too long, a NUL byte)."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def validate_sheet(data: dict[str, object]) -> Sheet:
    try:
        return Sheet.model_validate(data)
    except ValidationError as exc:
        raise LoreweaverError(describe(exc)) from None


def load_sheet(path: Path) -> Sheet:
    data = read_yaml_file(path, kind="character sheet")
    try:
        return validate_sheet(data)
    except LoreweaverError as exc:
        raise LoreweaverError(str(exc), path=path) from None


def load_lorebook(path: Path) -> Lorebook:
    data = read_yaml_file(path, kind="lorebook")
    try:
        return Lorebook.model_validate(data)
    except ValidationError as exc:
        raise LoreweaverError(describe(exc), path=path) from None


def lorebook_dirs(home: Home) -> list[Path]:
    """The user's lorebooks, then the samples' shared worlds (`characters/lorebooks/`)."""
    dirs = [home.lorebooks]
    samples = sample_characters_dir()
    if samples is not None:
        dirs.append(samples / "lorebooks")
    return dirs


def world_book_path(home: Home, sheet: Sheet, book_id: str) -> Path:
    """The file of the shared lorebook `book_id` that `sheet` names in `world`."""
    for folder in lorebook_dirs(home):
        path = folder / f"{book_id}.yaml"
        if path.is_file():
            return path
    raise LoreweaverError(f"{sheet.name}: world lorebook {book_id!r} not found")


def world_books(home: Home, sheet: Sheet) -> list[tuple[str, Lorebook]]:
    """The shared lorebooks a sheet names in `world`, then its own embedded book."""
    books: list[tuple[str, Lorebook]] = [
        (book_id, load_lorebook(world_book_path(home, sheet, book_id))) for book_id in sheet.world
    ]
    if sheet.character_book is not None and sheet.character_book.entries:
        books.append((sheet.character_book.name or sheet.name, sheet.character_book))
    return books


def load(home: Home, ref: str) -> tuple[Entry, Sheet]:
    entry = resolve(home, ref)
    return entry, load_sheet(entry.path)
