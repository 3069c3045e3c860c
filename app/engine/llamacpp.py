"""The llama.cpp backend (llama-cpp-python), in-process.

A `llama_cpp.Llama` object is not thread-safe, so one dedicated worker thread creates it and
runs every request against it, one at a time; callers get results through futures and reply
text through a queue. llama.cpp's logging is silenced with a log callback instead of the
library's own trick of pointing fds 1 and 2 at /dev/null, which would blank a Textual screen.
"""

from __future__ import annotations

import codecs
import contextlib
import ctypes
import queue
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from app.engine.base import GenerationStats, Sampling
from app.engine.modelinfo import ModelInfo
from app.engine.stops import StopMatcher
from app.errors import LoreweaverError

T = TypeVar("T")
_DONE = object()
_ERROR_LOG: list[str] = []
_quiet_installed = False


def _install_quiet_logging() -> Any:
    """Route llama.cpp's log lines into memory (errors kept for messages), never to the terminal."""
    global _quiet_installed
    import llama_cpp
    import llama_cpp.llama as llama_module

    if _quiet_installed:
        return llama_cpp

    @llama_cpp.llama_log_callback  # type: ignore[misc]
    def _log(level: int, text: bytes, _user: ctypes.c_void_p) -> None:
        if level == 3:  # GGML_LOG_LEVEL_ERROR
            _ERROR_LOG.append(text.decode("utf-8", "replace").strip())
            del _ERROR_LOG[:-20]

    llama_cpp.llama_log_set(_log, ctypes.c_void_p(0))
    llama_module._loreweaver_log_callback = _log  # keep the ctypes callback alive
    # verbose=False makes Llama() redirect fds 1/2 to /dev/null while loading; our callback
    # already keeps llama.cpp quiet, so that redirect is replaced by a no-op.
    llama_module.suppress_stdout_stderr = lambda disable=True: contextlib.nullcontext()
    _quiet_installed = True
    return llama_cpp


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


class LlamaGeneration:
    """A reply in progress: pieces arrive through a queue filled by the engine's worker."""

    def __init__(self, cancel: threading.Event | None) -> None:
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._cancel = cancel or threading.Event()
        self._parts: list[str] = []
        self._stats = GenerationStats()
        self._error: BaseException | None = None
        self._finished = False

    def __iter__(self) -> Iterator[str]:
        while not self._finished:
            item = self._queue.get()
            if item is _DONE:
                self._finished = True
                break
            assert isinstance(item, str)
            self._parts.append(item)
            yield item
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def text(self) -> str:
        return "".join(self._parts)

    @property
    def stats(self) -> GenerationStats:
        return self._stats

    def _put(self, piece: str) -> None:
        self._queue.put(piece)

    def _finish(self, error: BaseException | None = None) -> None:
        self._error = error
        self._queue.put(_DONE)


class LlamaEngine:
    """One loaded GGUF model behind a single worker thread."""

    def __init__(self, info: ModelInfo, *, n_ctx: int, n_threads: int) -> None:
        self.info = info
        self._n_ctx = n_ctx
        self._n_threads = n_threads
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._llm: Any = None
        self._pieces: dict[int, bytes] = {}
        self._active_cancel: threading.Event | None = None
        self._abort_cb: Any = None
        self._closed = False
        self._thread = threading.Thread(target=self._work, name="llama-worker", daemon=True)
        self._thread.start()
        self._call(self._load)

    # -- worker plumbing -------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                break
            job()
        self._llm = None

    def _call(self, fn: Callable[[], T]) -> T:
        if self._closed:
            raise LoreweaverError("the model has been unloaded")
        future: Future[T] = Future()

        def run() -> None:
            try:
                future.set_result(fn())
            except BaseException as exc:  # handed to the caller's thread
                future.set_exception(exc)

        self._jobs.put(run)
        return future.result()

    # -- worker-side operations -------------------------------------------------------------

    def _load(self) -> None:
        llama_cpp = _install_quiet_logging()
        path = self.info.path
        if not path.is_file():
            raise LoreweaverError("model file not found", path=path)
        _ERROR_LOG.clear()
        try:
            self._llm = llama_cpp.Llama(
                model_path=str(path),
                n_ctx=self._n_ctx,
                n_threads=self._n_threads,
                n_threads_batch=self._n_threads,
                n_batch=512,
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            detail = _ERROR_LOG[-1] if _ERROR_LOG else str(exc)
            raise LoreweaverError(f"cannot load model: {detail}", path=path) from None
        self._lib = llama_cpp
        self._vocab = self._llm._model.vocab
        self._bos = self._llm.token_bos()
        self._add_bos = bool(self._llm._model.add_bos_token())
        self._bos_text = self._piece(self._bos).decode("utf-8", "replace") if self._bos >= 0 else ""

        # Called by llama.cpp between compute steps: a cancel stops a long prefill too.
        @llama_cpp.ggml_abort_callback  # type: ignore[misc]
        def _should_abort(_data: ctypes.c_void_p) -> bool:
            active = self._active_cancel
            return active is not None and active.is_set()

        self._abort_cb = _should_abort
        llama_cpp.llama_set_abort_callback(self._llm._ctx.ctx, _should_abort, None)

    def _piece(self, token: int) -> bytes:
        cached = self._pieces.get(token)
        if cached is None:
            buf = ctypes.create_string_buffer(64)
            n = self._lib.llama_token_to_piece(self._vocab, token, buf, 64, 0, True)
            if n < 0:
                buf = ctypes.create_string_buffer(-n)
                n = self._lib.llama_token_to_piece(self._vocab, token, buf, -n, 0, True)
            cached = buf.raw[: max(n, 0)]
            self._pieces[token] = cached
        return cached

    def _tokenize(self, text: str) -> list[int]:
        tokens: list[int] = self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        if self._add_bos and self._bos >= 0 and not (tokens and tokens[0] == self._bos):
            tokens.insert(0, self._bos)
        return tokens

    def _is_eog(self, token: int) -> bool:
        return bool(self._lib.llama_vocab_is_eog(self._vocab, token))

    def _generate(
        self, prompt: str, sampling: Sampling, stops: Sequence[str], gen: LlamaGeneration
    ) -> None:
        llm = self._llm
        stats = gen.stats
        start = time.perf_counter()
        tokens = self._tokenize(prompt)
        stats.prompt_tokens = len(tokens)
        if len(tokens) + sampling.max_tokens > self._n_ctx:
            raise LoreweaverError(
                f"prompt is {len(tokens)} tokens and the reply may take {sampling.max_tokens}; "
                f"the context window is {self._n_ctx}"
            )
        stats.evaluated_tokens = len(tokens) - _common_prefix(llm._input_ids.tolist(), tokens[:-1])
        llm.set_seed(sampling.seed if sampling.seed is not None else secrets.randbits(31))
        matcher = StopMatcher(stops)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        if gen.cancelled:
            stats.finish_reason = "cancelled"
            return
        self._active_cancel = gen._cancel
        stats.finish_reason = "length"
        try:
            stream = llm.generate(
                tokens,
                top_k=sampling.top_k,
                top_p=sampling.top_p,
                min_p=sampling.min_p,
                typical_p=1.0,
                temp=sampling.temperature,
                repeat_penalty=sampling.repeat_penalty,
                frequency_penalty=0.0,
                presence_penalty=0.0,
                reset=True,
            )
            for token in stream:
                if gen.cancelled:
                    stats.finish_reason = "cancelled"
                    break
                if self._is_eog(token):
                    stats.finish_reason = "eos"
                    break
                stats.completion_tokens += 1
                shown = matcher.feed(decoder.decode(self._piece(token)))
                if shown:
                    if stats.first_token_s is None:
                        stats.first_token_s = time.perf_counter() - start
                    gen._put(shown)
                if matcher.stopped_by is not None:
                    stats.finish_reason = "stop"
                    stats.stopped_by = matcher.stopped_by
                    break
                if stats.completion_tokens >= sampling.max_tokens:
                    break
        except RuntimeError as exc:
            if not gen.cancelled:
                raise LoreweaverError(f"generation failed: {exc}") from None
            stats.finish_reason = "cancelled"
        finally:
            self._active_cancel = None
        if stats.finish_reason != "cancelled":
            tail = matcher.feed(decoder.decode(b"", final=True)) + matcher.flush()
            if tail:
                gen._put(tail)
        if stats.first_token_s is None and stats.completion_tokens:
            stats.first_token_s = time.perf_counter() - start
        stats.total_s = time.perf_counter() - start

    # -- public interface (any thread) ------------------------------------------------------

    @property
    def n_ctx(self) -> int:
        return self._n_ctx

    def tokenize(self, text: str) -> list[int]:
        return self._call(lambda: self._tokenize(text))

    def count_tokens(self, text: str) -> int:
        return len(self.tokenize(text))

    def generate(
        self,
        prompt: str,
        sampling: Sampling,
        stop: Sequence[str] = (),
        cancel: threading.Event | None = None,
    ) -> LlamaGeneration:
        if self._closed:
            raise LoreweaverError("the model has been unloaded")
        gen = LlamaGeneration(cancel)
        stops = list(stop)

        def run() -> None:
            try:
                self._generate(prompt, sampling, stops, gen)
            except BaseException as exc:
                gen._finish(exc)
            else:
                gen._finish()

        self._jobs.put(run)
        return gen

    def cached_tokens(self) -> list[int]:
        """The token sequence whose keys and values are in the KV cache, in position order."""
        return self._call(lambda: list(self._llm._input_ids.tolist()))

    def reset_cache(self) -> None:
        """Forget the KV cache: the next prompt is evaluated from scratch."""

        def run() -> None:
            self._llm.reset()
            self._llm._ctx.kv_cache_clear()

        self._call(run)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._jobs.put(None)
        self._thread.join(timeout=30)

    def __enter__(self) -> LlamaEngine:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def load_engine(
    info: ModelInfo,
    *,
    n_ctx: int | None = None,
    n_threads: int | None = None,
    n_ctx_cap: int = 8192,
) -> LlamaEngine:
    """Load `info`'s file: context = the model's trained length capped by `n_ctx_cap`."""
    from app.settings import physical_cores

    if not info.usable:
        raise LoreweaverError(f"unusable model: {info.problem}", path=info.path)
    if n_ctx is None:
        trained = info.context_length or 4096
        n_ctx = max(256, min(trained, n_ctx_cap))
    return LlamaEngine(info, n_ctx=n_ctx, n_threads=n_threads or physical_cores())


def load_path(path: Path, **kwargs: Any) -> LlamaEngine:
    """Convenience for tools and tests: read the file's metadata, then load it."""
    from app.engine.registry import read_model_info

    return load_engine(read_model_info(path, "path"), **kwargs)
