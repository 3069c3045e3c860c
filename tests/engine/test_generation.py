"""A generation read in frame-sized batches: the same text, one read per period at most."""

from __future__ import annotations

import threading
import time
from collections.abc import Generator

import pytest

from app.engine.generation import QueuedGeneration
from app.errors import LoreweaverError


def _produce(
    gen: QueuedGeneration, pieces: list[str], every: float, error: BaseException | None = None
) -> threading.Thread:
    def run() -> None:
        for piece in pieces:
            time.sleep(every)
            gen._put(piece)
        gen._finish(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_batches_join_every_piece_and_read_at_most_once_per_period() -> None:
    pieces = [f" w{i}" for i in range(150)]
    gen = QueuedGeneration(None)
    _produce(gen, pieces, every=0.002)
    period = 0.05
    seen: list[tuple[float, str]] = []
    for text in gen.batches(period):
        seen.append((time.monotonic(), text))
    assert "".join(text for _, text in seen) == "".join(pieces) == gen.text
    assert len(seen) < len(pieces) / 5  # batches, not tokens
    gaps = [b - a for (a, _), (b, _) in zip(seen, seen[1:], strict=False)]
    assert min(gaps) >= 0.5 * period  # a period apart (slack for a busy machine), not a token


def test_the_first_batch_comes_as_soon_as_there_is_text() -> None:
    gen = QueuedGeneration(None)
    _produce(gen, ["Aye"], every=0.05)
    started = time.monotonic()
    batches = gen.batches(30.0)
    assert next(batches) == "Aye"
    assert time.monotonic() - started < 5  # not held for the period
    assert isinstance(batches, Generator)
    batches.close()  # reading on would wait out the 30 s before the next batch


def test_an_error_is_raised_after_the_last_batch() -> None:
    gen = QueuedGeneration(None)
    _produce(gen, ["one", " two"], every=0.001, error=LoreweaverError("generation failed: x"))
    got: list[str] = []
    with pytest.raises(LoreweaverError, match="generation failed"):
        for text in gen.batches(0.01):
            got.append(text)
    assert "".join(got) == "one two"
