"""The adaptive decode-thread policy on synthetic step times (no model, no clock)."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

import pytest

from app.engine.thread_tuner import SPEND, WINDOW, ThreadTuner

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
    dropped = levels.index(1)
    assert dropped <= 100 + 2 * WINDOW  # the first slow window tries 1 thread, which wins
    assert levels[dropped : dropped + WINDOW] == [1] * WINDOW
    assert levels[100:400].count(2) < 30  # mostly one thread while busy
    returned = next(i for i in range(400, 700) if levels[i] == 2)
    # a lost trial cost one 30 ms step: the next comes after ~10 × that of 1-thread steps
    assert returned <= 400 + SPEND * BUSY[2] / IDLE[1] + 3 * WINDOW
    assert set(levels[returned:]) == {2}


def test_a_busy_start_drops_and_the_next_generation_keeps_or_retries_by_the_pause() -> None:
    tuner = ThreadTuner(2)
    busy = busy_between(0, 10**6)
    first = run(tuner, 60, busy)
    assert first[:WINDOW] == [2] * WINDOW and first[WINDOW : 2 * WINDOW] == [1] * WINDOW
    cut = [i for i in changes(first)[:-1] if first[i] == 2]
    assert cut and all(first[i + 1] == 1 for i in cut)  # a losing trial ends at its first step
    level = tuner.level
    assert level == 1 and tuner.start(pause=0.0) == 1  # just now: nothing changed
    assert tuner.start(pause=60.0) == 2  # a minute later: more threads are tried first
    again = run(tuner, 30, busy, start=False)
    assert again[:2] == [2, 1]  # still busy: back at once
    assert tuner.start(pause=60.0) == 2
    quiet = run(tuner, 30, busy_between(0, 0), start=False)
    assert set(quiet) == {2}  # the machine is quiet again: kept


def test_trials_of_more_threads_take_a_tenth_of_the_time_however_slow_a_stall() -> None:
    for stall in (30.0, 5000.0):  # ms per step at 2 threads: a core taken; a loaded machine
        tuner = ThreadTuner(2)
        run(tuner, 30, busy_between(0, 0))

        def stalled(index: int, level: int, stall: float = stall) -> float:
            return {2: stall, 1: 12.8}[level]

        levels = run(tuner, 3000, stalled)
        spent = [(stall if level == 2 else 12.8) for level in levels]
        at_two = sum(t for t, level in zip(spent, levels, strict=True) if level == 2)
        assert at_two <= sum(spent) / SPEND * 1.5 + 3 * stall  # the first window, then ≤ ~10 %
        assert levels[-500:].count(2) <= 500 * 12.8 / stall / SPEND * 1.5 + 1


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
        for a, b in zip(moments, moments[1:], strict=False):  # a count is kept ≥ a window,
            cut = levels[a] > levels[a - 1] and levels[b] == levels[a - 1]
            assert b - a >= WINDOW or cut  # unless it was a trial of more threads, cut short
    with pytest.raises(ValueError):
        ThreadTuner(0)


def test_a_generation_that_ends_mid_trial_leaves_the_count_it_tried_from() -> None:
    tuner = ThreadTuner(2)
    assert run(tuner, WINDOW + 1, busy_between(0, 0)) == [2] * WINDOW + [1]  # a look below
    assert tuner.level == 1 and tuner.start() == 2  # undecided: back to 2, and look again
    again = run(tuner, 30, busy_between(0, 0), start=False)
    assert again == [2] * WINDOW + [1] * WINDOW + [2] * (30 - 2 * WINDOW)


class Load:
    """Other programs' CPU use, as the tuner reads it (`cpu_load.OtherLoad.others`), set by hand."""

    def __init__(self, cores: float | None = 0.05) -> None:
        self.cores = cores

    def __call__(self) -> float | None:
        return self.cores


def loaded(load: Load, busy: Callable[[int], bool]) -> Callable[[int, int], float]:
    """Step times that follow `busy(step)`, with `load` showing a core taken while it holds."""

    def cost(index: int, level: int) -> float:
        load.cores = 1.0 if busy(index) else 0.05
        return (BUSY if busy(index) else IDLE)[level]

    return cost


def test_with_the_load_known_a_quiet_machine_never_looks_below() -> None:
    tuner = ThreadTuner(2, Load())
    assert run(tuner, 500, busy_between(0, 0)) == [2] * 500


def test_a_core_taken_drops_a_thread_at_the_next_window_and_its_release_restores_it() -> None:
    load = Load()
    tuner = ThreadTuner(2, load)
    levels = run(tuner, 600, loaded(load, lambda index: 100 <= index < 400))
    dropped, returned = changes(levels)  # one drop, one return: no trials in between
    assert 100 < dropped <= 100 + WINDOW and levels[dropped] == 1
    assert 400 < returned <= 400 + WINDOW and set(levels[returned:]) == {2}


def test_a_busy_start_begins_with_the_free_cores_and_a_freed_core_is_tried() -> None:
    load = Load(1.0)
    tuner = ThreadTuner(2, load)
    assert tuner.start() == 1  # before any step: no stalled window at 2 threads
    assert set(run(tuner, 200, busy_between(0, 10**6), start=False)) == {1}
    load.cores = 0.0
    assert tuner.start() == 2  # judged against the last 1-thread window
    assert set(run(tuner, 30, busy_between(0, 0), start=False)) == {2}


def test_a_free_core_that_does_not_help_is_retried_only_as_often_as_it_costs() -> None:
    tuner = ThreadTuner(2, Load(0.1))  # the load reads quiet, yet 2 threads turn slower
    slow = {2: 40.0, 1: 12.8}
    run(tuner, 30, busy_between(0, 0))
    levels = run(tuner, 3000, lambda index, level: slow[level])
    spent = [slow[level] for level in levels]
    at_two = sum(t for t, level in zip(spent, levels, strict=True) if level == 2)
    assert levels[-100:].count(1) >= 90
    assert at_two <= sum(spent) / SPEND * 1.5 + 3 * slow[2]


@pytest.mark.parametrize(("others", "count"), [(0.0, 8), (0.3, 8), (0.6, 7), (2.6, 5), (9.0, 1)])
def test_many_cores_keep_the_cores_other_programs_leave(others: float, count: int) -> None:
    tuner = ThreadTuner(8, Load(others))
    assert tuner.start() == count


def test_an_unreadable_load_falls_back_to_step_times() -> None:
    tuner = ThreadTuner(2, Load(None))
    levels = run(tuner, 300, busy_between(0, 0))
    assert levels[WINDOW : 2 * WINDOW] == [1] * WINDOW  # the one look below, as without a load
