"""The adaptive decode-thread policy on synthetic step times (no model, no clock)."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

import pytest

from app.engine.thread_tuner import PROBE_MOST, WINDOW, ThreadTuner

# Step times (ms) shaped like the bundled model on 2 cores (README, `bench --busy`).
IDLE = {2: 6.2, 1: 9.3}
BUSY = {2: 30.0, 1: 12.8}


def run(
    tuner: ThreadTuner, steps: int, cost: Callable[[int, int], float], start: bool = True
) -> list[int]:
    """The count each step ran at, feeding the tuner `cost(step, count)` seconds per step."""
    level = tuner.start() if start else tuner.level
    levels = []
    for index in range(steps):
        levels.append(level)
        level = tuner.step(cost(index, level) / 1000)
    return levels


def busy_between(first: int, last: int) -> Callable[[int, int], float]:
    return lambda index, level: (BUSY if first <= index < last else IDLE)[level]


def changes(levels: Sequence[int]) -> list[int]:
    return [i for i in range(1, len(levels)) if levels[i] != levels[i - 1]]


def test_a_quiet_machine_keeps_every_thread_after_one_look_below() -> None:
    tuner = ThreadTuner(2)
    levels = run(tuner, 300, busy_between(0, 0))
    assert levels[:WINDOW] == [2] * WINDOW
    assert levels[2 * WINDOW :] == [2] * (300 - 2 * WINDOW)  # one trial of 1 thread, lost
    assert run(tuner, 100, busy_between(0, 0)) == [2] * 100  # nothing left to explore


def test_contention_drops_a_thread_and_its_end_brings_it_back() -> None:
    tuner = ThreadTuner(2)
    run(tuner, 30, busy_between(0, 0))  # learn the quiet speeds
    levels = run(tuner, 700, busy_between(100, 400))
    assert set(levels[:100]) == {2}
    assert levels[100 + 2 * WINDOW : 100 + 4 * WINDOW] == [1] * (2 * WINDOW)
    assert levels.count(2) < 100 + 300 * 0.1 + (700 - 400)  # mostly 1 thread while busy
    returned = next(i for i in range(400, 700) if levels[i] == 2)
    assert returned <= 400 + PROBE_MOST + 2 * WINDOW
    assert set(levels[returned + WINDOW :]) == {2}


def test_a_busy_start_drops_at_once_and_each_generation_starts_on_every_thread() -> None:
    tuner = ThreadTuner(2)
    busy = busy_between(0, 10**6)
    first = run(tuner, 60, busy)
    assert first[:WINDOW] == [2] * WINDOW and first[WINDOW : 2 * WINDOW] == [1] * WINDOW
    assert tuner.start() == 2
    second = run(tuner, 60, busy, start=False)
    assert second[WINDOW : 2 * WINDOW] == [1] * WINDOW  # the slowdown is seen against the best


def test_a_trial_of_one_more_thread_that_loses_waits_longer_each_time() -> None:
    tuner = ThreadTuner(2)
    run(tuner, 30, busy_between(0, 0))
    levels = run(tuner, 2000, busy_between(0, 10**6))
    trials = [i for i in changes(levels) if levels[i] == 2]
    gaps = [b - a for a, b in zip(trials, trials[1:], strict=False)]
    assert len(trials) >= 3 and gaps == sorted(gaps) and gaps[-1] >= PROBE_MOST


def test_a_steady_mild_slowdown_is_tried_once_not_every_window() -> None:
    tuner = ThreadTuner(2)
    run(tuner, 30, busy_between(0, 0))
    mild = {2: IDLE[2] * 1.45, 1: IDLE[1] * 1.45}  # everything slower; 2 threads still win
    levels = run(tuner, 300, lambda index, level: mild[level])
    assert levels.count(1) == WINDOW and levels[-100:] == [2] * 100


def test_many_cores_settle_on_the_fastest_count_under_contention() -> None:
    speeds = {8: 40.0, 7: 9.0, 6: 8.0, 5: 7.0, 4: 7.5, 3: 9.0, 2: 12.0, 1: 20.0}
    tuner = ThreadTuner(8)
    levels = run(tuner, 400, lambda index, level: speeds[level])
    assert levels[-50:].count(5) >= 40 and min(levels) >= 4


@pytest.mark.parametrize("most", [1, 2, 3, 8])
def test_any_timings_stay_within_bounds_and_change_at_most_once_a_window(most: int) -> None:
    rng = random.Random(most)
    tuner = ThreadTuner(most)
    for _ in range(20):
        levels = run(tuner, 200, lambda index, level: rng.choice([0.5, 5, 9, 40, 400]))
        assert all(1 <= level <= most for level in levels)
        moments = changes(levels)
        assert all(b - a >= WINDOW for a, b in zip(moments, moments[1:], strict=False))
    with pytest.raises(ValueError):
        ThreadTuner(0)
