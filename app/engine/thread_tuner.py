"""Adaptive decode threads: how many threads the next generated token gets, from how long the
last ones took.

With as many threads as cores, llama.cpp's threads meet at a barrier hundreds of times per
token; when another program holds one core, every barrier waits for the thread queued behind
it and decode falls 5–20× (`bench --busy`), while one thread fewer keeps most of its speed.
No fixed count is right both ways, so the count follows the step times: a window of steps much
slower than the best seen at this count tries one thread fewer, a run at fewer threads tries
one more now and then (contention comes and goes), and each trial keeps whichever count made
faster steps. Pure logic on the step times it is given: the engine times the steps and applies
the count to its live context between tokens.
"""

from __future__ import annotations

from statistics import median

WINDOW = 3
"""Steps judged together (their median): one slow step is noise, three are a pattern. A count
changes at most once per window."""
SLOWED = 1.4
"""A window this many times slower than the best seen at its count tries one thread fewer."""
MARGIN = 0.05
"""A trial count is kept only if its steps are at least this much faster than before."""
PROBE_FIRST = 16
"""Steps at fewer threads before the first trial of one more."""
PROBE_MOST = 256
"""Longest wait between trials of one more thread (each failed trial doubles the wait)."""


class ThreadTuner:
    """Decode thread counts between 1 and `most`, chosen from the step times it is told."""

    def __init__(self, most: int) -> None:
        if most < 1:
            raise ValueError("a thread tuner needs at least one thread")
        self.most = most
        self.level = most
        """The count the next step runs with."""
        self.best: dict[int, float] = {}
        """The fastest window (median step, seconds) seen at each count. A window slower than
        its count's best by `SLOWED`, or slower than the best of one thread fewer, tries one
        thread fewer; when that trial loses, both counts take their latest windows as their
        best (the machine is slower now), so a steady slowdown is tried once, not every window."""
        self._steps: list[float] = []
        self._trial: tuple[int, float] | None = None
        """During a trial: the count it left and that count's last window."""
        self._probe_every = PROBE_FIRST

    def start(self) -> int:
        """A new generation starts at the most threads: the machine may have changed since the
        last one, and a busy start costs one window before the count drops again."""
        self.level = self.most
        self._steps = []
        self._trial = None
        self._probe_every = PROBE_FIRST
        return self.level

    def step(self, seconds: float) -> int:
        """Record one decode step taken at `level`; return the count for the next one."""
        self._steps.append(seconds)
        if len(self._steps) < WINDOW or len(self._steps) % WINDOW:
            return self.level
        now = median(self._steps[-WINDOW:])
        level = self.level
        self.best[level] = min(self.best.get(level, now), now)
        if self._trial is not None:
            return self._judge(now)
        below = level - 1
        if below >= 1 and (
            below not in self.best or now > min(SLOWED * self.best[level], self.best[below])
        ):
            return self._move(below, trial=now)
        if level < self.most and len(self._steps) >= self._probe_every:
            return self._move(level + 1, trial=now)
        return level

    def _judge(self, now: float) -> int:
        """The end of a trial: keep the faster count of the two."""
        assert self._trial is not None
        left, before = self._trial
        went_up = self.level > left
        if now < before * (1 - MARGIN):
            if went_up:
                self._probe_every = PROBE_FIRST
            return self._move(self.level)
        if went_up:
            self._probe_every = min(2 * self._probe_every, PROBE_MOST)
        else:  # fewer threads did not help: both counts' latest steps are their normal now
            self.best[left] = max(self.best.get(left, before), before)
            self.best[self.level] = now
        return self._move(left)

    def _move(self, level: int, trial: float | None = None) -> int:
        self._trial = None if trial is None else (self.level, trial)
        self.level = level
        self._steps = []
        return level
