"""A `Generation` fed by a worker thread: text pieces through a queue, then an end marker.

The worker calls `_put` for each piece and `_finish` once (with the error, if one ended it);
the consumer iterates on its own thread, and an error is raised there after the last piece.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

from app.engine.base import GenerationStats

_DONE = object()


class QueuedGeneration:
    """A reply in progress: pieces arrive through a queue that a worker thread fills."""

    def __init__(self, cancel: threading.Event | None) -> None:
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._cancel = cancel or threading.Event()
        self._parts: list[str] = []
        self._stats = GenerationStats()
        self._error: BaseException | None = None
        self._finished = False

    def __iter__(self) -> Iterator[str]:
        while not self._finished:
            item = self._queue.get()
            if item is _DONE:
                self._finished = True
                break
            assert isinstance(item, str)
            self._parts.append(item)
            yield item
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def cancel_event(self) -> threading.Event:
        """The event `cancel()` sets (the caller's own, if one was passed)."""
        return self._cancel

    @property
    def text(self) -> str:
        return "".join(self._parts)

    @property
    def stats(self) -> GenerationStats:
        return self._stats

    def _put(self, piece: str) -> None:
        self._queue.put(piece)

    def _finish(self, error: BaseException | None = None) -> None:
        self._error = error
        self._queue.put(_DONE)
