"""Messages the worker threads post to the UI (thread-safe, never blocking the worker)."""

from __future__ import annotations

from textual.message import Message

from app.engine.base import Engine
from app.memory.lore import Probe
from app.models import ModelInfo
from app.sheets.catalog import Summary
from app.sheets.transfer import Imported


class EngineReady(Message):
    def __init__(self, engine: Engine, info: ModelInfo) -> None:
        super().__init__()
        self.engine = engine
        self.info = info


class EngineFailed(Message):
    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


# -- library (app/tui/screens/library.py) ------------------------------------------------------


class LibraryLoaded(Message):
    """The library's summaries, read from disk by a worker."""

    def __init__(self, summaries: list[Summary]) -> None:
        super().__init__()
        self.summaries = summaries


class CardImported(Message):
    def __init__(self, imported: Imported) -> None:
        super().__init__()
        self.imported = imported


class ImportFailed(Message):
    """`taken`: the id is already used by a different character, so a new id can resolve it."""

    def __init__(self, path: str, error: str, *, taken: bool) -> None:
        super().__init__()
        self.path = path
        self.error = error
        self.taken = taken


# -- character editor (app/tui/screens/editor.py) ---------------------------------------------


class TokensCounted(Message):
    """Exact token counts of some texts, by `engine` (counts from another engine are stale)."""

    def __init__(self, engine: Engine, counts: dict[str, int]) -> None:
        super().__init__()
        self.engine = engine
        self.counts = counts


class LoreProbed(Message):
    """The lore test box's answer for `text`."""

    def __init__(self, text: str, probe: Probe) -> None:
        super().__init__()
        self.text = text
        self.probe = probe
