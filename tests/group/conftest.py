"""A cast with one secret each, written as sheet files into the test's home; the real model."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import yaml

from app.engine.llamacpp import LlamaEngine, load_engine
from app.home import Home
from app.models import bundled_model_path, read_model_info

SECRETS = {
    "mira": "Mira poisoned the well at Dunmore",
    "oskar": "Oskar hides forty gold crowns under the altar",
    "talia": "Talia is the lost heir of House Venn",
}
NAMES = {"mira": "Mira", "oskar": "Oskar", "talia": "Talia"}


@pytest.fixture
def secrets() -> dict[str, str]:
    return SECRETS


@pytest.fixture
def names() -> dict[str, str]:
    return NAMES


@pytest.fixture
def cast_ids(lw_home: Home) -> list[str]:
    for ref, secret in SECRETS.items():
        sheet = {
            "name": NAMES[ref],
            "description": f"{NAMES[ref]} lives in the village of Dunmore.",
            "goals": [f"{NAMES[ref]} wants to leave Dunmore"],
            "knowledge": [secret],
            "extensions": {"talkativeness": "0.9" if ref == "talia" else "0.1"},
        }
        (lw_home.characters / f"{ref}.yaml").write_text(yaml.safe_dump(sheet), encoding="utf-8")
    return list(SECRETS)


@pytest.fixture(scope="session")
def engine() -> Iterator[LlamaEngine]:
    path = bundled_model_path()
    assert path is not None
    with load_engine(read_model_info(path, "bundled"), n_threads=2, n_ctx=4096) as loaded:
        yield loaded
