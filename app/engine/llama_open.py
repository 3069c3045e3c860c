"""Opening a GGUF file with llama-cpp-python, quietly, with one clear error when it cannot be
used; reading a token's bytes; stopping a prompt evaluation midway. Called on the engine's
worker thread (`llamacpp`)."""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.engine import quiet
from app.errors import LoreweaverError

N_BATCH = 512
"""Tokens per prompt-evaluation step."""
REPEAT_WINDOW = 64
"""How many recent tokens the repeat penalty looks at."""


def open_llama(path: Path, *, n_ctx: int, n_threads: int, n_threads_batch: int) -> Any:
    """A `llama_cpp.Llama` over `path`; a file llama.cpp refuses is a `LoreweaverError` naming
    it, with llama.cpp's own first error line."""
    if not path.is_file():
        raise LoreweaverError("model file not found", path=path)
    quiet.install_log_callback()
    import llama_cpp
    from llama_cpp import _internals

    if not hasattr(_internals.LlamaModel, "sampler"):
        # 0.3.16: a LlamaModel whose file fails to load never sets `sampler`, and its
        # __del__ then raises; a class-level default makes that clean-up a no-op.
        _internals.LlamaModel.sampler = None

    quiet.clear_errors()
    failure = None
    # verbose=True is what keeps fds 1/2 untouched (see app.engine.quiet); the prints it
    # makes while loading are dropped for this thread instead.
    with quiet.drop_this_threads_stderr():
        try:
            llm = llama_cpp.Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_threads=n_threads,
                n_threads_batch=n_threads_batch,
                n_batch=N_BATCH,
                last_n_tokens_size=REPEAT_WINDOW,
                verbose=True,
            )
        except MemoryError:
            failure = "not enough memory to load the model"
        except (ValueError, RuntimeError, OSError) as exc:
            failure = f"cannot load the model: {quiet.first_error() or exc}"
    if failure is not None:
        raise LoreweaverError(failure, path=path)
    llm.verbose = False  # no per-call prints from here on
    return llm


class AbortSwitch:
    """llama.cpp asks the abort callback between compute steps, which is what lets a cancel
    stop a long prompt evaluation. It runs ~1000 times per token, so it is on only for prefill."""

    def __init__(self, lib: Any, llm: Any, should_abort: Callable[[], bool]) -> None:
        @lib.ggml_abort_callback
        def _should_abort(_data: ctypes.c_void_p) -> bool:
            return should_abort()

        self._lib = lib
        self._llm = llm
        self._on = _should_abort  # kept alive here: llama.cpp holds only a raw pointer
        self._off = lib.ggml_abort_callback()  # a NULL function pointer

    def set(self, on: bool) -> None:
        callback = self._on if on else self._off
        self._lib.llama_set_abort_callback(self._llm._ctx.ctx, callback, None)
