"""Other programs' CPU use, as adaptive decode threads read it (`app.engine.cpu_load`)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from app.engine.cpu_load import OtherLoad, busy_seconds

STAT = """cpu  900 0 100 5000 40 0 0 0 0 0
cpu0 500 0 50 2000 20 0 0 0 0 0
cpu1 400 0 50 3000 20 7 3 0 0 0
intr 12345
"""


def test_busy_time_counts_the_allowed_cpus_without_idle_or_io_wait() -> None:
    tick = 100  # SC_CLK_TCK on Linux
    assert busy_seconds({0, 1}, STAT) == pytest.approx((550 + 460) / tick)
    assert busy_seconds({1}, STAT) == pytest.approx(460 / tick)
    assert busy_seconds({7}, STAT) is None  # none of its lines: no figure, not zero
    assert busy_seconds(None, "garbage\ncpuX 1 2\n") is None


def test_a_cpu_bound_program_beside_us_reads_as_most_of_a_core() -> None:
    spin = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    load = OtherLoad().start()
    try:
        time.sleep(0.6)
        others = load.others()
        assert others is not None and others >= 0.5
        mine = time.process_time() + 0.5
        while time.process_time() < mine:  # our own work is not counted as others'
            pass
        assert (load.others() or 0.0) <= others + 0.3
    finally:
        load.stop()
        spin.kill()
        spin.wait()
