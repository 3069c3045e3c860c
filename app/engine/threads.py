"""How llama.cpp's worker threads wait for each other: OpenMP's wait policy, set from
`Settings.thread_wait` before the library loads (see `loreweaver bench --busy`)."""

from __future__ import annotations

import os
import sys

THREAD_ADAPT = True
"""Whether decode threads follow the machine by default (`Settings.thread_adapt`, any engine
loaded without settings). On: on a quiet 2-core machine (`bench --busy`, see the README) the
adaptive count decoded idle at 1.06-1.13x the fixed count's rate and kept 0.56-0.58 of it with
a core taken, where the fixed count kept 0.01-0.12."""
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
