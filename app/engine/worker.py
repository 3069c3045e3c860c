"""One thread that runs jobs in order: a `llama_cpp.Llama` object is not thread-safe, so the
engine makes it, drives it and frees it on a thread of its own (`llamacpp`)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

T = TypeVar("T")


class Worker:
    """Runs each job put to it, one at a time, then `on_exit` when stopped."""

    def __init__(self, name: str, on_exit: Callable[[], None]) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._on_exit = on_exit
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._thread.start()

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                break
            job()
        self._on_exit()

    def put(self, job: Callable[[], None]) -> None:
        """Queue `job` after any queued work; it reports its own result."""
        self._jobs.put(job)

    def call(self, fn: Callable[[], T]) -> T:
        """Run `fn` after any queued work and return its result (or raise its exception)."""
        future: Future[T] = Future()

        def run() -> None:
            try:
                future.set_result(fn())
            except BaseException as exc:  # handed to the caller's thread
                future.set_exception(exc)

        self._jobs.put(run)
        return future.result()

    def stop(self, timeout: float) -> None:
        """Let the queued jobs finish, run `on_exit`, end the thread (waiting up to `timeout`)."""
        self._jobs.put(None)
        self._thread.join(timeout=timeout)
