"""Shared fixtures: every test runs against a throw-away Loreweaver home."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.home import ENV_VAR, Home

_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if _WORKER.startswith("gw") and hasattr(os, "sched_setaffinity"):
    # Workers share the cores: each runs on a CPU of its own, as on a machine of one core (the
    # engine then runs one thread, `physical_cores`), so no worker's llama.cpp threads wait at
    # a barrier for a thread the other worker holds off its core (`bench --busy`: ~10x slower).
    # The CLI subprocesses a test starts inherit the CPU.
    _cpus = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {_cpus[int(_WORKER[2:]) % len(_cpus)]})


@pytest.fixture(scope="session")
def bundled_verdict() -> tuple[Path, str | None] | None:
    """The bundled model's test load, run once per session rather than once per home."""
    from app.models import bundled_model_path, probe

    path = bundled_model_path()
    return None if path is None else (path, probe.run_probe(path, path.stat().st_size)[1])


@pytest.fixture(autouse=True)
def lw_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bundled_verdict: tuple[Path, str | None] | None
) -> Iterator[Home]:
    """A fresh home for each test, also seen by subprocesses through the environment; it
    already knows the bundled model's test-load verdict, as a home does after its first start."""
    from app.models import probe

    root = tmp_path / "home"
    monkeypatch.setenv(ENV_VAR, str(root))
    home = Home(root).ensure()
    if bundled_verdict is not None:
        probe.remember(home, *bundled_verdict)
    yield home
