"""Messages the worker threads post to the UI (thread-safe, never blocking the worker)."""

from __future__ import annotations

from textual.message import Message

from app.engine.base import Engine, GenerationStats


class EngineReady(Message):
    def __init__(self, engine: Engine, label: str) -> None:
        super().__init__()
        self.engine = engine
        self.label = label


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
