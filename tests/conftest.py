"""Shared fixtures: every test runs against a throw-away Loreweaver home."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.home import ENV_VAR, Home


@pytest.fixture(autouse=True)
def lw_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Home]:
    """A fresh, empty home for each test, also seen by subprocesses through the environment."""
    root = tmp_path / "home"
    monkeypatch.setenv(ENV_VAR, str(root))
    yield Home(root).ensure()
