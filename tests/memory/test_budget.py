"""Eviction in large, stable chunks: the window start only moves at fixed boundaries."""

from __future__ import annotations

from app.memory.budget import chunk_boundaries, window_start


def test_boundaries_are_counted_from_the_first_turn() -> None:
    assert chunk_boundaries([10] * 10, 30) == [0, 3, 6, 9]


def test_everything_fits_keeps_every_turn() -> None:
    assert window_start([10] * 5, 50, 10) == 0


def test_overflow_drops_a_whole_chunk_not_one_turn() -> None:
    sizes = [10] * 10  # 100 tokens, budget 95: one turn would do, a chunk (3 turns) goes
    assert window_start(sizes, 95, 30) == 3


def test_start_is_stable_while_the_chat_grows_within_the_chunk() -> None:
    starts = [window_start([10] * n, 95, 30) for n in range(10, 13)]
    assert starts == [3, 3, 3]
    assert window_start([10] * 13, 95, 30) == 6


def test_a_single_oversized_turn_is_still_kept() -> None:
    assert window_start([10, 10, 500], 100, 20) == 2
