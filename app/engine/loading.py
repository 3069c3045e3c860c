"""Loading the engine a `ModelInfo` calls for: a GGUF file in-process, or an inference server."""

from __future__ import annotations

from app.engine.base import Engine
from app.engine.modelinfo import ModelInfo


def load_engine(info: ModelInfo, *, n_threads: int | None = None, n_ctx_cap: int = 8192) -> Engine:
    if info.remote is not None:
        from app.engine.remote.engine import RemoteEngine

        return RemoteEngine(info, info.remote, n_ctx_cap=n_ctx_cap)
    from app.engine.llamacpp import load_engine as load_file

    return load_file(info, n_threads=n_threads, n_ctx_cap=n_ctx_cap)
