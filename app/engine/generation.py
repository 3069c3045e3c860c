"""A `Generation` fed by a worker thread: text pieces through a queue, then an end marker.

The worker calls `_put` for each piece and `_finish` once (with the error, if one ended it);
the consumer iterates on its own thread, and an error is raised there after the last piece.
While the prompt is evaluated the worker reports progress (`_set_progress`), which a reader
follows with `prompt_progress` before it reads the text.
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
        self._progress = (0, 0)
        self._prefill_over = False
        self._progress_changed = threading.Condition()

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

    def prompt_progress(self, period: float) -> Iterator[tuple[int, int]]:
        """`(evaluated, total)` prompt tokens as evaluation advances, at most once per `period`;
        ends when it is over (the last item then has evaluated == total), or when the
        generation ends first (cancelled, failed: nothing if that was before evaluating)."""
        seen = (0, 0)
        due = 0.0
        while True:
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)

            def moved(shown: tuple[int, int] = seen) -> bool:
                return self._progress != shown or self._prefill_over

            with self._progress_changed:
                self._progress_changed.wait_for(moved)
                current, over = self._progress, self._prefill_over
            if current != seen and current[1]:
                seen = current
                yield current
            if over:
                return
            due = time.monotonic() + period

    @property
    def progress(self) -> tuple[int, int]:
        """`(evaluated, total)`: prompt tokens run through the model so far, of those that had
        to be (the rest of the prompt came from the KV cache)."""
        return self._progress

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

    def _set_progress(self, evaluated: int, total: int) -> None:
        with self._progress_changed:
            self._progress = (evaluated, total)
            self._prefill_over = self._prefill_over or evaluated >= total
            self._progress_changed.notify_all()

    def _end_prefill(self) -> None:
        if not self._prefill_over:
            with self._progress_changed:
                self._prefill_over = True
                self._progress_changed.notify_all()

    def _put(self, piece: str) -> None:
        self._end_prefill()
        self._queue.put(piece)

    def _finish(self, error: BaseException | None = None) -> None:
        self._error = error
        self._end_prefill()
        self._queue.put(_DONE)
