"""The NPC tests: a real chat store and the bundled model, and a sheet that declares actions,
typed state and relationships for structured replies."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from npc.npc_sheet import npc_data

from app.home import Home
from app.memory.store import ChatStore
from app.sheets.sheet import Sheet

if TYPE_CHECKING:
    from app.engine.llamacpp import LlamaEngine


@pytest.fixture
def store(lw_home: Home) -> Iterator[ChatStore]:
    opened = ChatStore.open(lw_home)
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaEngine]:
    """The bundled SmolLM2, loaded once for every test that generates."""
    from app.engine.llamacpp import load_engine
    from app.models import resolve_model

    info = resolve_model(Home(Path(tmp_path_factory.mktemp("engine-home"))), None)
    loaded = load_engine(info, n_threads=2, n_ctx_cap=2048)
    yield loaded
    loaded.close()


@pytest.fixture
def npc() -> Sheet:
    return Sheet.model_validate(npc_data())
