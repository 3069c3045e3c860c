"""Fixtures for the card-container tests: sample cards and the expensive zip bomb, built once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cards.cardkit import BOMB_SIZE, zeros_member_zip


@pytest.fixture
def v2_card() -> dict[str, Any]:
    return {
        "spec": "chara_card_v2",
        "spec_version": "2.0",
        "data": {
            "name": "Brenna",
            "description": "A smith in Oakvale — gruff, fair, «trusted».",
            "first_mes": "Back again?",
            "extensions": {"custom": {"kept": [1, 2.5, None, True]}},
        },
    }


@pytest.fixture
def v3_card() -> dict[str, Any]:
    return {
        "spec": "chara_card_v3",
        "spec_version": "3.0",
        "data": {
            "name": "Brenna",
            "nickname": "Bren 🔨",
            "first_mes": "Back again?",
            "group_only_greetings": [],
            "extensions": {},
        },
    }


@pytest.fixture(scope="session")
def bomb_zip() -> bytes:
    """A CHARX whose asset inflates to 200 MB of zeros from about 200 kB (built once, ~0.6 s)."""
    return zeros_member_zip("assets/other/bomb.bin", BOMB_SIZE, {"card.json": b"{}"})


@pytest.fixture
def put(tmp_path: Path) -> Callable[[str, bytes], Path]:
    """Write bytes to a file named `name` in the test's folder and return its path."""

    def write(name: str, data: bytes) -> Path:
        target = tmp_path / name
        target.write_bytes(data)
        return target

    return write
