"""Which turns stay in the window: the token budget and eviction in large, stable chunks.

Evicting one turn per turn would change the start of the history every time and force the
engine to re-read it. Instead the history is cut only at fixed chunk boundaries counted from
the first turn, so the window start moves rarely and by a lot, and between moves each prompt
extends the previous one.
"""

from __future__ import annotations

from collections.abc import Sequence


def chunk_boundaries(sizes: Sequence[int], chunk: int) -> list[int]:
    """Turn indexes where a chunk of at least `chunk` tokens (counted from turn 0) begins."""
    bounds = [0]
    running = 0
    for index, size in enumerate(sizes):
        running += size
        if running >= chunk and index + 1 < len(sizes):
            bounds.append(index + 1)
            running = 0
    return bounds


def window_start(sizes: Sequence[int], budget: int, chunk: int) -> int:
    """The first kept turn: the earliest chunk boundary whose suffix fits in `budget`.

    The last turn is always kept, even when it alone is over budget (the caller reports it).
    """
    total = sum(sizes)
    if total <= budget:
        return 0
    suffix = total
    start = 0
    for bound in chunk_boundaries(sizes, max(1, chunk)):
        suffix -= sum(sizes[start:bound])
        start = bound
        if suffix <= budget:
            return bound
    return max(0, len(sizes) - 1)
