"""The one exception type users see.

Every problem caused by input (a file, a flag, a model) is raised as `LoreweaverError` with a
single-line message that names the thing and the problem; the CLI prints it and exits non-zero,
the TUI shows it as a notification. Anything else escaping is a bug.
"""

from __future__ import annotations

from pathlib import Path


class LoreweaverError(Exception):
    """A user-facing error: `str(err)` is one line naming what is wrong."""

    def __init__(self, message: str, *, path: Path | str | None = None) -> None:
        text = " ".join(message.split())
        super().__init__(f"{path}: {text}" if path is not None else text)
        self.path = Path(path) if path is not None else None


class Cancelled(Exception):
    """Background work gave way: a summary stopped because a reply needed the model or the
    summariser closed (it is retried or dropped, never shown); a reply checkpoint that sees it
    marks the reply cancelled."""
