"""How much CPU other programs are using right now: what adaptive decode threads read before
judging step times (`thread_tuner`).

Step times alone cannot tell a core that has freed up from one still taken, so the tuner had to
try more threads to find out, and a trial on a taken core stalls. Linux counts every CPU's busy
time in /proc/stat; that minus this process's own CPU time, over the last few tenths of a
second, is the other programs' share in cores. A background thread samples it a few times a
second (reading /proc/stat costs tens of microseconds), so the figure is fresh when a reply
starts. Elsewhere (no /proc/stat) there is no figure and the tuner relies on step times.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from pathlib import Path

PERIOD_S = 0.1
"""Seconds between samples. /proc/stat counts in ticks (10 ms), so a figure spans a few."""
SPAN = 4
"""Samples kept: a figure covers the last (SPAN - 1) periods."""
STAT = Path("/proc/stat")


def _cpus() -> set[int] | None:
    """The CPUs this process may run on (its threads' only cores)."""
    try:
        return set(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return None


def busy_seconds(cpus: set[int] | None, text: str) -> float | None:
    """CPU seconds spent busy (not idle, not waiting on I/O) on `cpus` since boot, from the
    text of /proc/stat; None when the text has none of their lines."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = 0
    found = False
    for line in text.splitlines():
        if not line.startswith("cpu") or line.startswith("cpu "):
            continue
        name, *fields = line.split()
        try:
            cpu = int(name[3:])
            values = [int(f) for f in fields[:8]]
        except ValueError:
            continue
        if (cpus is not None and cpu not in cpus) or len(values) < 5:
            continue
        found = True
        total += sum(values) - values[3] - values[4]  # idle and iowait are not busy
    return total / tick if found else None


class OtherLoad:
    """Other programs' CPU use on this process's CPUs, in cores, sampled in the background."""

    def __init__(self) -> None:
        self._cpus = _cpus()
        self._samples: deque[tuple[float, float, float]] = deque(maxlen=SPAN)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _sample(self) -> bool:
        try:
            busy = busy_seconds(self._cpus, STAT.read_text(encoding="ascii", errors="ignore"))
        except OSError:
            return False
        if busy is None:
            return False
        self._samples.append((time.monotonic(), busy, time.process_time()))
        return True

    def start(self) -> OtherLoad:
        """Begin sampling (a daemon thread); without /proc/stat, nothing starts."""
        if self._thread is None and self._sample():
            self._thread = threading.Thread(target=self._run, name="cpu-load", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(PERIOD_S):
            if not self._sample():
                return

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1)

    def others(self) -> float | None:
        """Cores' worth of CPU other programs used over the last few samples; None before
        two samples exist or where the figure cannot be read."""
        samples = tuple(self._samples)
        if len(samples) < 2:
            return None
        (t0, busy0, own0), (t1, busy1, own1) = samples[0], samples[-1]
        if t1 <= t0:
            return None
        return max(0.0, ((busy1 - busy0) - (own1 - own0)) / (t1 - t0))
