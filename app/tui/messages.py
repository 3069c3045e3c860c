"""Messages the worker threads post to the UI (thread-safe, never blocking the worker)."""

from __future__ import annotations

from textual.message import Message

from app.engine.base import Engine, GenerationStats
from app.engine.modelinfo import ModelInfo


class EngineReady(Message):
    def __init__(self, engine: Engine, info: ModelInfo) -> None:
        super().__init__()
        self.engine = engine
        self.info = info


class EngineFailed(Message):
    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


class ReplyChunk(Message):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class ReplyDone(Message):
    def __init__(self, stats: GenerationStats) -> None:
        super().__init__()
        self.stats = stats


class ReplyStarted(Message):
    """The reply's worker has its prompt and is generating; `prefix` is a continued reply's
    existing text."""

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix


class ReplyFailed(Message):
    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


class DraftChunk(Message):
    """Text of the user's line the model is drafting (impersonate); `done` ends the draft."""

    def __init__(self, text: str, *, done: bool = False) -> None:
        super().__init__()
        self.text = text
        self.done = done
