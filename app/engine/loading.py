"""Choosing and loading a model: a remote model's name or a GGUF file, then the engine it
calls for (in-process llama.cpp, or an inference server)."""

from __future__ import annotations

from app.engine.base import Engine
from app.engine.threads import THREAD_ADAPT
from app.home import Home
from app.models import ModelInfo
from app.models import resolve_model as resolve_file


def resolve_model(home: Home, ref: str | None) -> ModelInfo:
    """A configured remote model's name (its server is asked about it now), else what
    `app.models.resolve_model` finds: the bundled model, a path, an id or a display name."""
    if ref:
        from app.engine.remote.resolve import resolve_remote

        remote = resolve_remote(home, ref)
        if remote is not None:
            return remote
    return resolve_file(home, ref)


def load_engine(
    info: ModelInfo,
    *,
    n_threads: int | None = None,
    n_threads_batch: int | None = None,
    thread_wait: str = "library",
    thread_adapt: bool = THREAD_ADAPT,
    n_ctx_cap: int = 8192,
) -> Engine:
    """The engine `info` calls for; the thread settings apply to a local file only."""
    if info.remote is not None:
        from app.engine.remote.engine import RemoteEngine

        return RemoteEngine(info, info.remote, n_ctx_cap=n_ctx_cap)
    from app.engine.llamacpp import load_engine as load_file

    return load_file(
        info,
        n_threads=n_threads,
        n_threads_batch=n_threads_batch,
        thread_wait=thread_wait,
        thread_adapt=thread_adapt,
        n_ctx_cap=n_ctx_cap,
    )
