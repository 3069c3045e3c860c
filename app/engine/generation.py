"""A `Generation` fed by a worker thread: text pieces through a queue, then an end marker.

The worker calls `_put` for each piece and `_finish` once (with the error, if one ended it);
the consumer iterates on its own thread, and an error is raised there after the last piece.
"""

from __future__ import annotations

import queue
import threading
import time
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
            yield from self._take([self._queue.get()])
        self._raise_error()

    def batches(self, period: float) -> Iterator[str]:
        """Read once per `period` at most, however fast the pieces come.

        Waiting for each piece wakes this thread once per token, and on a machine whose cores
        all run the model every such wake-up preempts one of its threads, stalling the others
        at their next barrier. A screen's reader needs one wake-up per frame.
        """
        due = 0.0
        while not self._finished:
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            items = [self._queue.get()]  # blocks only while nothing has come (prompt evaluation)
            while not self._queue.empty():
                items.append(self._queue.get())
            due = time.monotonic() + period
            text = "".join(self._take(items))
            if text:
                yield text
        self._raise_error()

    def _take(self, items: list[object]) -> Iterator[str]:
        for item in items:
            if item is _DONE:
                self._finished = True
                return
            assert isinstance(item, str)
            self._parts.append(item)
            yield item

    def _raise_error(self) -> None:
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
