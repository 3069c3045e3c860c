"""llama.cpp's worker threads: how they wait for each other (OpenMP's wait policy, set from
`Settings.thread_wait` before the library loads) and how many run (`DecodeThreads`); see
`loreweaver bench --busy`."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable

from app.engine.cpu_load import STAT, OtherLoad
from app.engine.thread_tuner import ThreadTuner

THREAD_ADAPT = STAT.is_file()
"""Whether decode threads follow the machine by default (`Settings.thread_adapt`, any engine
loaded without settings): where other programs' CPU use can be read (`cpu_load`, Linux). There,
on a quiet 2-core machine (`bench --busy`, see the README), the adaptive count decoded idle at
1.06-1.13x the fixed count's rate and kept 0.56-0.58 of it with a core taken, where the fixed
count kept 0.01-0.12. Elsewhere only step times are left, which after a busy spell ran idle at
0.56x in the same bench: the fixed count stays the default there."""
WAIT_POLICIES = {"sleep": "PASSIVE", "spin": "ACTIVE"}
"""`thread_wait` → OMP_WAIT_POLICY (`library`: unset, OpenMP's own default)."""


def set_thread_wait(wait: str) -> None:
    """How llama.cpp's OpenMP threads wait at each step's barrier (`Settings.thread_wait`).

    Spinning waiters starve a thread that shares its core with another program, and every
    step waits for that thread: decode fell ~10× with one core taken (`bench --busy`). OpenMP
    reads the policy once, when llama.cpp's library loads, so it is set before the first
    load and holds for the process; a policy already in the environment wins.
    """
    policy = WAIT_POLICIES.get(wait)
    if policy is not None and "llama_cpp" not in sys.modules:
        os.environ.setdefault("OMP_WAIT_POLICY", policy)


class DecodeThreads:
    """How many threads one engine's context runs with: fixed, or following the machine
    (`thread_adapt`: `cpu_load` and `thread_tuner` decide between tokens).

    Decode takes `level` threads; prompts are read with as many fewer than `batch`, since a
    prompt read on a core another program holds stalls for seconds on a loaded machine.
    """

    def __init__(self, most: int, batch: int | None = None, adapt: bool = False) -> None:
        self.most = most
        """Threads per generated token; with `adapt`, the most it uses."""
        self.batch = batch or most
        """Threads reading a prompt (many tokens per step) at `most` decode threads."""
        self._load = OtherLoad().start() if adapt and most > 1 else None
        self.tuner = (
            ThreadTuner(most, self._load.others if self._load is not None else None)
            if adapt
            else None
        )
        """Decode threads from other programs' CPU use and step times; None: always `most`."""
        self.level = most
        self._apply: Callable[[int, int], None] | None = None
        self._ended = time.perf_counter()
        """When the last generation ended (the tuner counts the pause since)."""

    def attach(self, apply: Callable[[int, int], None]) -> None:
        """Where counts go: `apply(decode, batch)` sets them on the live context (llama.cpp
        reads them at each evaluation)."""
        self._apply = apply

    def use(self, level: int) -> None:
        if level != self.level and self._apply is not None:
            self._apply(level, max(1, self.batch - (self.most - level)))
            self.level = level

    def started(self) -> None:
        """A generation begins: the count its prompt and first token get."""
        if self.tuner is not None:
            self.use(self.tuner.start(time.perf_counter() - self._ended))

    def stepped(self, seconds: float) -> None:
        """One decode step took `seconds`: the count for the next."""
        if self.tuner is not None:
            self.use(self.tuner.step(seconds))

    def ended(self) -> float:
        """A generation ended: when (the pause before the next one counts from here)."""
        self._ended = time.perf_counter()
        return self._ended

    def close(self) -> None:
        if self._load is not None:
            self._load.stop()
