"""Writing an edited sheet or shared world lorebook into the home: what the editor saves,
callable from the CLI too.

Every file is written atomically (`app.fsutil`): an interrupted save leaves the old file or the
new one, never half of one. Samples (sheets and world books in the repository) are read-only:
saving one writes a copy into the home under the same id, which from then on shadows the sample.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from app.errors import LoreweaverError
from app.fsutil import write_text_atomic
from app.home import Home
from app.sheets import library
from app.sheets.lorebook import Lorebook
from app.sheets.sheet import Sheet
from app.sheets.transfer import dump_yaml


def save_sheet(home: Home, entry: library.Entry, sheet: Sheet) -> library.Entry:
    """Write `sheet` as `entry`'s file (a sample: as a copy in the home); return where it went.

    The caller has validated the sheet (it is a `Sheet`); a write that fails is one clear line
    naming the file, and the old file is left as it was.
    """
    target = home.ensure().characters / f"{entry.id}.yaml" if entry.sample else entry.path
    try:
        _copy_avatar(entry, sheet, target)
        write_text_atomic(target, dump_yaml(sheet))
    except OSError as exc:
        raise LoreweaverError(f"cannot write: {exc.strerror}", path=target) from None
    return library.Entry(entry.id, target, sample=False)


def _copy_avatar(entry: library.Entry, sheet: Sheet, target: Path) -> None:
    """A sample's avatar image goes with its copy, so the copy is complete."""
    if not sheet.avatar or target.parent == entry.path.parent:
        return
    name = Path(sheet.avatar).name
    source, copy = entry.path.parent / name, target.parent / name
    if source.is_file() and not copy.exists():
        shutil.copyfile(source, copy)


def save_world_book(home: Home, book_id: str, book: Lorebook) -> Path:
    """Write the shared lorebook `book_id` into the home's lorebooks (where it shadows a sample
    world book of that id, for every sheet naming it); return the file."""
    if not book_id or Path(book_id).name != book_id or book_id in (".", ".."):
        raise LoreweaverError(f"world lorebook id {book_id!r}: must be a plain file name")
    target = home.ensure().lorebooks / f"{book_id}.yaml"
    try:
        write_text_atomic(target, dump_yaml(book))
    except OSError as exc:
        raise LoreweaverError(f"cannot write: {exc.strerror}", path=target) from None
    return target
