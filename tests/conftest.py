"""Shared fixtures: every test runs against a throw-away Loreweaver home."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.home import ENV_VAR, Home

if os.environ.get("PYTEST_XDIST_WORKER"):
    # Two workers share the cores: llama.cpp threads spinning at OpenMP's barriers would starve
    # the other worker's (decode fell ~10x with one core taken, `bench --busy`). Set before any
    # test loads llama.cpp, and inherited by the CLI subprocesses; replies do not depend on it.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


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
