"""Shared fixtures for the memory tests: a chat store on a real SQLite file, the real model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from app.home import Home
from app.memory.store import ChatStore
from app.prompts.segments import Prompt

if TYPE_CHECKING:
    from app.engine.llamacpp import LlamaEngine

STORY_PROMPT = Prompt.markup(
    "<|im_start|>system\nYou are Brenna, a blacksmith who loves telling long stories.<|im_end|>\n"
    "<|im_start|>user\nTell me a very long story about every sword you ever forged.<|im_end|>\n"
    "<|im_start|>assistant\n"
)


@pytest.fixture(scope="session")
def story_prompt() -> str:
    """A ChatML prompt (the bundled model's own format) that draws a long reply (seed 3)."""
    return STORY_PROMPT


@pytest.fixture
def store(lw_home: Home) -> Iterator[ChatStore]:
    opened = ChatStore.open(lw_home)
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaEngine]:
    """The bundled SmolLM2 loaded once for every test that generates."""
    from app.engine.llamacpp import load_engine
    from app.models import resolve_model

    info = resolve_model(Home(Path(tmp_path_factory.mktemp("engine-home"))), None)
    loaded = load_engine(info, n_threads=2, n_ctx_cap=2048)
    yield loaded
    loaded.close()
