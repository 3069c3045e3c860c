"""Atomic writes: a crash or failure mid-write leaves the old file(s) or the new, never half."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from app.errors import LoreweaverError


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` via a temporary file beside it; a failure is one line naming it."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:200]}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise LoreweaverError(f"cannot write: {exc.strerror or exc}", path=path) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise LoreweaverError(f"cannot write: {exc.strerror or exc}", path=path) from None
        raise


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


class Staging:
    """Files and folders written in a temporary folder inside `root`, then moved into place
    together, so a failure anywhere leaves every target exactly as it was.

    `place(final)` gives a path inside the staging folder to write (a file or a whole tree);
    `commit()` renames each into its `final` place in the order given, moving anything already
    there aside first, and undoes every move if one fails. The staging folder (with whatever
    was replaced) is removed on leaving the `with` block, success or not.
    """

    def __init__(self, root: Path) -> None:
        try:
            self.dir = Path(tempfile.mkdtemp(prefix=".staging-", dir=root))
        except OSError as exc:
            raise LoreweaverError(f"cannot write: {exc.strerror or exc}", path=root) from None
        self._moves: list[tuple[Path, Path]] = []

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    def place(self, final: Path) -> Path:
        staged = self.dir / f"item-{len(self._moves)}"
        self._moves.append((staged, final))
        return staged

    def commit(self) -> None:
        done: list[tuple[Path, Path]] = []  # (from, to), to undo in reverse
        try:
            for number, (staged, final) in enumerate(self._moves):
                if not staged.exists():
                    continue
                if final.exists() or final.is_symlink():
                    aside = self.dir / f"replaced-{number}"
                    os.rename(final, aside)
                    done.append((final, aside))
                os.rename(staged, final)
                done.append((staged, final))
        except OSError as exc:
            for source, moved in reversed(done):
                with contextlib.suppress(OSError):
                    os.rename(moved, source)
            raise LoreweaverError(
                f"cannot move into place: {exc.strerror or exc}", path=exc.filename or self.dir
            ) from None
