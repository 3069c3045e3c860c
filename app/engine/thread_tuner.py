"""Adaptive decode threads: how many threads the next generated token gets, from how long the
last ones took.

With as many threads as cores, llama.cpp's threads meet at a barrier hundreds of times per
token; when another program holds one core, every barrier waits for the thread queued behind
it and decode falls 5–20× (on a loaded machine a step can take seconds), while one thread
fewer keeps most of its speed. No fixed count is right both ways, so the count follows the
step times: a window of steps much slower than the best seen at this count tries one thread
fewer, and now and then one thread more is tried again (contention comes and goes); each trial
keeps whichever count made faster steps. A trial of more threads that loses is cut at its
first very slow step and makes the next one wait ten times its cost, so trials take at most
about a tenth of the time however slow a stalled step is.

Where the other programs' CPU use can be read (`cpu_load`, Linux), it leads: the count drops at
once to the cores they leave free, rises (as a trial) only when a core has come free, and the
step times no longer need a look below or blind retries to learn what the machine is doing.
Pure logic on the figures it is given: the engine times the steps and applies the count to its
live context between tokens.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from statistics import median

WINDOW = 3
"""Steps judged together (their median): one slow step is noise, three are a pattern."""
SLOWED = 1.4
"""A window this many times slower than the best seen at its count tries one thread fewer."""
MARGIN = 0.05
"""A trial count is kept only if its steps are at least this much faster than before."""
CUT = 2.0
"""A step of a trial of more threads this many times slower than before ends it at once."""
SPEND = 10.0
"""After a trial of more threads lost, the next waits this many times what the lost one cost."""
QUIET = 0.3
"""Cores' worth of other programs' CPU use that still leaves every core free (background noise;
a program that holds a core reads 0.5-1.0 even while our threads compete with it)."""


class ThreadTuner:
    """Decode thread counts between 1 and `most`, chosen from the step times it is told."""

    def __init__(self, most: int, load: Callable[[], float | None] | None = None) -> None:
        if most < 1:
            raise ValueError("a thread tuner needs at least one thread")
        self.most = most
        self._load = load
        """Other programs' CPU use in cores (`cpu_load.OtherLoad.others`); None: unknown."""
        self.level = most
        """The count the next step runs with."""
        self.best: dict[int, float] = {}
        """The fastest window (median step, seconds) seen at each count. A window slower than
        its count's best by `SLOWED`, or slower than the best of one thread fewer, tries one
        thread fewer; when that trial loses, both counts take their latest windows as their
        best (the machine is slower now), so a steady slowdown is tried once, not every window."""
        self._latest: dict[int, float] = {}
        self._steps: list[float] = []
        self._trial: tuple[int, float] | None = None
        """During a trial: the count it left and that count's latest window."""
        self._spent = 0.0
        """What the current trial of more threads has cost so far (seconds)."""
        self._clock = 0.0
        """Seconds of decode and of pauses between generations, as told."""
        self._lost_at = 0.0
        self._lost_cost = 0.0
        """When the last trial of more threads lost, and what it cost: the next waits."""

    def start(self, pause: float = 0.0) -> int:
        """A new generation, `pause` seconds after the last one ended: the count it starts
        with (one more than last time, as a trial, when one is due: the machine may have
        changed meanwhile)."""
        self._clock += pause
        if self._trial is not None:  # the last generation ended mid-trial: undecided
            self.level = self._trial[0]
        self._steps = []
        self._trial = None
        level = self.level
        free = self._free()
        if free is not None and free < level:
            return self._move(free)
        if level < self.most and (free is None or free > level) and self._trial_due():
            if level in self._latest:
                self._move(level + 1, trial=self._latest[level])
            else:  # never timed here: nothing to judge against, and a core is free
                self._move(level + 1)
        return self.level

    def step(self, seconds: float) -> int:
        """Record one decode step taken at `level`; return the count for the next one."""
        self._clock += seconds
        self._steps.append(seconds)
        trial = self._trial
        if trial is not None and self.level > trial[0]:
            self._spent += seconds
            if seconds > CUT * trial[1]:
                return self._lose_up()
        if len(self._steps) % WINDOW:
            return self.level
        now = median(self._steps[-WINDOW:])
        level = self.level
        self.best[level] = min(self.best.get(level, now), now)
        self._latest[level] = now
        if trial is not None:
            return self._judge(now)
        free = self._free()
        if free is not None and free < level:
            return self._move(free)
        below = level - 1
        if below >= 1 and (
            (below not in self.best and free is None)
            or now > SLOWED * self.best[level]
            or now > self.best.get(below, math.inf)
        ):
            return self._move(below, trial=now)
        if level < self.most and (free is None or free > level) and self._trial_due():
            return self._move(level + 1, trial=now)
        return level

    def _free(self) -> int | None:
        """The cores other programs leave free (at least one), when their use can be read."""
        others = None if self._load is None else self._load()
        if others is None:
            return None
        return max(1, self.most - max(0, math.ceil(others - QUIET)))

    def _trial_due(self) -> bool:
        return self._clock - self._lost_at >= SPEND * self._lost_cost

    def _judge(self, now: float) -> int:
        """The end of a trial: keep the faster count of the two."""
        assert self._trial is not None
        left, before = self._trial
        if now < before * (1 - MARGIN):
            if self.level > left:
                self._lost_cost = 0.0  # more threads won: one more may be tried soon
            return self._move(self.level)
        if self.level > left:
            return self._lose_up()
        # fewer threads did not help: both counts' latest windows are their best now
        self.best[left] = max(self.best.get(left, before), before)
        self.best[self.level] = now
        return self._move(left)

    def _lose_up(self) -> int:
        assert self._trial is not None
        self._lost_at, self._lost_cost = self._clock, self._spent
        return self._move(self._trial[0])

    def _move(self, level: int, trial: float | None = None) -> int:
        self._trial = None if trial is None else (self.level, trial)
        self._spent = 0.0
        self.level = level
        self._steps = []
        return level
