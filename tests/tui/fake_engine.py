"""A scripted engine for fast UI tests (the real-model tests prove the real path); it
follows the `Engine` protocol (`_conforms` below lets mypy check that)."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from app.engine.base import Engine, GenerationStats, Sampling

if TYPE_CHECKING:
    from app.engine.adapters import Adapter


class FakeGeneration:
    """`clock` set: the stats report that scripted time (snapshots need fixed figures);
    `prefill`: the evaluated counts a prompt evaluation reports (the last is the total), each
    after `prefill_delay` (one for all, or one per count)."""

    def __init__(
        self,
        pieces: Sequence[str],
        delay: float,
        clock: tuple[float, float] | None = None,
        prefill: Sequence[int] = (),
        prefill_delay: float | Sequence[float] = 0.0,
    ) -> None:
        self._prefill = list(prefill)
        delays = prefill_delay if isinstance(prefill_delay, Sequence) else [prefill_delay]
        self._prefill_delays = [*delays, *[delays[-1]] * len(self._prefill)]
        self.progress = (0, 0)
        self._pieces = list(pieces)
        self._delay = delay
        self._clock = clock
        self._cancel = threading.Event()
        self._text = ""
        self._stats = GenerationStats()

    def prompt_progress(self, period: float) -> Iterator[tuple[int, int]]:
        """The scripted counts, one pass (reading the text first skips what is left)."""
        total = self._prefill[-1] if self._prefill else 0
        while self._prefill and not self._cancel.is_set():
            time.sleep(self._prefill_delays.pop(0))
            self.progress = (self._prefill.pop(0), total)
            yield self.progress

    def __iter__(self) -> Iterator[str]:
        """One pass, like the real thing: iterating again yields only what is left."""
        for _ in self.prompt_progress(0.0):
            pass
        start = time.monotonic()
        while self._pieces:
            piece = self._pieces.pop(0)
            if self._cancel.is_set():
                self._stats.finish_reason = "cancelled"
                break
            time.sleep(self._delay)
            self._text += piece
            self._stats.completion_tokens += 1
            if self._stats.first_token_s is None:
                self._stats.first_token_s = time.monotonic() - start
            yield piece
        self._stats.total_s = time.monotonic() - start
        if self._clock is not None:
            first, per_token = self._clock
            self._stats.first_token_s = first
            self._stats.total_s = first + per_token * self._stats.completion_tokens

    def batches(self, period: float) -> Iterator[str]:
        """Pieces joined while they come within `period` of the last batch."""
        batch: list[str] = []
        last = time.monotonic()
        for piece in self:
            batch.append(piece)
            if time.monotonic() - last >= period:
                yield "".join(batch)
                batch.clear()
                last = time.monotonic()
        if batch:
            yield "".join(batch)

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def text(self) -> str:
        return self._text

    @property
    def stats(self) -> GenerationStats:
        return self._stats


class FakeEngine:
    """Replies with `pieces`; with `replies`, each generation takes the next one in turn."""

    def __init__(
        self,
        pieces: Sequence[str] = ("Hello", " there", "."),
        delay: float = 0.0,
        replies: Sequence[Sequence[str]] = (),
        clock: tuple[float, float] | None = None,
        prefill: Sequence[int] = (),
        prefill_delay: float | Sequence[float] = 0.0,
    ) -> None:
        self.clock = clock
        self.prefill = prefill
        self.prefill_delay = prefill_delay
        self.pieces = pieces
        self.delay = delay
        self.replies = list(replies)
        self.prompts: queue.Queue[str] = queue.Queue()
        self.closed = False
        self.adapters: tuple[Adapter, ...] = ()

    @property
    def n_ctx(self) -> int:
        return 4096

    def tokenize(self, text: str) -> list[int]:
        return [ord(c) for c in text]

    def count_tokens(self, text: str) -> int:
        return len(text)

    def generate(
        self,
        prompt: str,
        sampling: Sampling,
        stop: Sequence[str] = (),
        cancel: threading.Event | None = None,
        grammar: str | None = None,
    ) -> FakeGeneration:
        self.prompts.put(prompt)
        pieces = self.replies.pop(0) if self.replies else self.pieces
        return FakeGeneration(pieces, self.delay, self.clock, self.prefill, self.prefill_delay)

    @property
    def notes(self) -> list[str]:
        return []

    def use_adapters(self, adapters: Sequence[Adapter]) -> None:
        assert not adapters, "the fake engine takes no adapters"

    @property
    def keeps_state(self) -> bool:
        """No KV cache to keep: the state methods do nothing, as a server's do."""
        return False

    def save_state(self) -> None:
        return None

    def load_state(self, state: object) -> None:
        return None

    def save_state_file(self, path: Path) -> int:
        return 0

    def load_state_file(self, path: Path, prompt: str | None = None) -> None:
        return None

    def close(self) -> None:
        self.closed = True


def _conforms(engine: FakeEngine) -> Engine:
    return engine  # mypy fails here if the fake drifts from the protocol
