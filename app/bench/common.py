"""Small measuring helpers shared by the benchmarks."""

from __future__ import annotations

import resource
import statistics
from collections.abc import Sequence


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            pages = int(handle.read().split()[1])
    except (OSError, ValueError, IndexError):
        return peak_rss_mb()
    return pages * resource.getpagesize() / (1024 * 1024)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0
