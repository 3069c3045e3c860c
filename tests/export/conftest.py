"""Fixtures for the dialogue export tests (helpers live in `dialogue_support`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from dialogue_support import npm_modules

from app.home import Home
from app.memory.store import ChatStore


@pytest.fixture
def store(lw_home: Home) -> Iterator[ChatStore]:
    opened = ChatStore.open(lw_home)
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def npm_tools() -> Path:
    return npm_modules()
