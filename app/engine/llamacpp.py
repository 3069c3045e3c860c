"""The llama.cpp backend (llama-cpp-python), in-process.

A `llama_cpp.Llama` object is not thread-safe, so one dedicated worker thread creates it and
runs every request against it, one at a time; callers get results through futures and reply
text through a queue. Running all compute on one thread also matters for speed: the OpenMP
build of ggml spins fewer cycles between tokens once two threads in a process have driven it,
which halves tokens/s here (see `call`).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from app.engine import grammar as gbnf
from app.engine import kvcache, kvstate, recurrent, threads
from app.engine.adapters import Adapter, LoadedAdapters
from app.engine.adapters import key as adapters_key
from app.engine.base import Sampling
from app.engine.generation import QueuedGeneration
from app.engine.llama_open import AbortSwitch, open_llama
from app.engine.stops import TextOut
from app.engine.tokens import ModelVocab
from app.engine.worker import Worker
from app.errors import LoreweaverError
from app.models import MemoryKind, ModelInfo

T = TypeVar("T")


class LlamaEngine:
    """One loaded GGUF model behind a single worker thread."""

    def __init__(
        self,
        info: ModelInfo,
        *,
        n_ctx: int,
        n_threads: int,
        n_threads_batch: int | None = None,
        thread_adapt: bool = False,
    ) -> None:
        self.info = info
        self._n_ctx = n_ctx
        self.threads = threads.DecodeThreads(n_threads, n_threads_batch, thread_adapt)
        self._llm: Any = None
        self._active_cancel: threading.Event | None = None
        self._closing = threading.Event()
        self._closed = False
        self._worker = Worker("llama-worker", self._free)
        try:
            self.call(self._load)
        except BaseException:
            self.close()
            raise

    def call(self, fn: Callable[[], T]) -> T:
        """Run `fn` on the worker thread, after any queued work, and return its result.

        Anything that drives llama.cpp in this process (a baseline in a benchmark, a future
        state tool) should go through here rather than run on a thread of its own.
        """
        if self._closed:
            raise LoreweaverError("the model has been unloaded")
        return self._worker.call(fn)

    # -- worker-side operations -------------------------------------------------------------

    def _free(self) -> None:
        if self._llm is not None:
            self._adapters.free(self._llm, self._lib)  # llama.cpp leaves them to their owner
            self._llm.close()  # free llama.cpp's memory on the thread that made it
        self._llm = None

    def _load(self) -> None:
        import llama_cpp

        llm = open_llama(
            self.info.path,
            n_ctx=self._n_ctx,
            n_threads=self.threads.most,
            n_threads_batch=self.threads.batch,
        )
        self._llm = llm
        self._lib = llama_cpp
        self.threads.attach(lambda n, batch: llama_cpp.llama_set_n_threads(llm._ctx.ctx, n, batch))
        self._vocab = ModelVocab(llama_cpp, llm)
        memory = self.info.memory
        if memory == "attention" and llama_cpp.llama_model_is_recurrent(llm._model.model):
            memory = "recurrent"
        self._memory: MemoryKind = memory
        self._recurrent = memory != "attention"
        """A state that cannot be cut back: reused through snapshots, never `kvplan`."""
        self._snapshots = recurrent.Snapshots()
        self._adapters = LoadedAdapters(self.info.architecture)
        self._can_shift = not self._recurrent and bool(
            llama_cpp.llama_memory_can_shift(llm._ctx.memory)
        )
        self._abort = AbortSwitch(llama_cpp, llm, self._should_abort)

    def _should_abort(self) -> bool:
        active = self._active_cancel
        return self._closing.is_set() or (active is not None and active.is_set())

    def _check_fits(self, prompt_tokens: int, max_tokens: int) -> None:
        if prompt_tokens + max_tokens <= self._n_ctx:
            return
        message = f"prompt is {prompt_tokens} tokens; the context window is {self._n_ctx}"
        if prompt_tokens < self._n_ctx:
            message += f", which leaves no room for a {max_tokens}-token reply"
        raise LoreweaverError(message)

    def _generate(
        self,
        prompt: str,
        sampling: Sampling,
        stops: Sequence[str],
        gen: QueuedGeneration,
        started: float,
        grammar: str | None = None,
    ) -> None:
        llm = self._llm
        stats = gen.stats
        tokens = self._vocab.prompt(prompt)
        stats.prompt_tokens = len(tokens)
        self._check_fits(len(tokens), sampling.max_tokens)
        if gen.cancelled or self._closing.is_set():
            stats.finish_reason = "cancelled"
            return
        if grammar is not None:
            gbnf.check(self._lib, self._vocab.handle, grammar)
        llm.set_seed(sampling.seed if sampling.seed is not None else secrets.randbits(31))
        out = TextOut(stops)
        stats.finish_reason = "length"
        self._active_cancel = gen.cancel_event
        self._abort.set(True)
        self.threads.started()
        stream = None
        last = 0.0
        try:
            if self._recurrent:
                reused = recurrent.line_up(llm, self._lib, tokens, stats, self._snapshots)
            else:
                reused = kvcache.line_up(llm, self._lib, tokens, stats, can_shift=self._can_shift)
            rest = kvcache.evaluate_ahead(
                llm,
                tokens[reused:],
                gen._set_progress,
                lambda: gen.cancelled or self._closing.is_set(),
                all_but_last=self._recurrent,
            )
            if self._recurrent:
                self._snapshots.take(llm, self._lib)
            stream = llm.generate(
                rest,
                top_k=sampling.top_k,
                top_p=sampling.top_p,
                min_p=sampling.min_p,
                typical_p=1.0,
                temp=sampling.temperature,
                repeat_penalty=sampling.repeat_penalty,
                frequency_penalty=0.0,
                presence_penalty=0.0,
                tfs_z=1.0,
                mirostat_mode=0,
                reset=False,  # line_up has already lined the cache up with the prompt
                grammar=None if grammar is None else self._lib.LlamaGrammar.from_string(grammar),
            )
            for token in stream:
                now = time.perf_counter()
                if stats.completion_tokens == 0:
                    self._abort.set(False)  # prefill is over; between tokens the loop checks
                    gen._set_progress(len(tokens) - reused, len(tokens) - reused)
                else:  # the time since the last token: one decode step
                    self.threads.stepped(now - last)
                last = now
                if gen.cancelled or self._closing.is_set():
                    stats.finish_reason = "cancelled"
                    break
                if self._vocab.ends(token):
                    stats.finish_reason = "eos"
                    break
                stats.completion_tokens += 1
                shown = out.feed(self._vocab.piece(token))
                if shown:
                    if stats.first_token_s is None:
                        stats.first_token_s = time.perf_counter() - started
                    gen._put(shown)
                if out.stopped_by is not None:
                    stats.finish_reason = "stop"
                    stats.stopped_by = out.stopped_by
                    break
                if stats.completion_tokens >= sampling.max_tokens:
                    break
        except RuntimeError as exc:  # llama_decode failed; aborted by our callback on cancel
            if not (gen.cancelled or self._closing.is_set()):
                raise LoreweaverError(f"generation failed: {exc}") from None
            stats.finish_reason = "cancelled"
        finally:
            if stream is not None:
                stream.close()
            self._abort.set(False)
            self._active_cancel = None
        if stats.finish_reason != "cancelled":
            tail = out.finish()
            if tail:
                gen._put(tail)
            if out.stopped_by is not None:  # held-back text turned out to hold a stop
                stats.finish_reason = "stop"
                stats.stopped_by = out.stopped_by
        if stats.first_token_s is None and stats.completion_tokens:
            stats.first_token_s = time.perf_counter() - started
        stats.total_s = self.threads.ended() - started

    # -- public interface (any thread) ------------------------------------------------------

    @property
    def n_ctx(self) -> int:
        return self._n_ctx

    def tokenize(self, text: str) -> list[int]:
        return self.call(lambda: self._vocab.prompt(text))

    def count_tokens(self, text: str) -> int:
        return len(self.tokenize(text))

    def generate(
        self,
        prompt: str,
        sampling: Sampling,
        stop: Sequence[str] = (),
        cancel: threading.Event | None = None,
        grammar: str | None = None,
    ) -> QueuedGeneration:
        if self._closed:
            raise LoreweaverError("the model has been unloaded")
        if sampling.max_tokens < 1 or sampling.temperature < 0:
            raise LoreweaverError("sampling needs max_tokens ≥ 1 and temperature ≥ 0")
        started = time.perf_counter()
        gen = QueuedGeneration(cancel)
        stops = list(stop)

        def run() -> None:
            try:
                self._generate(prompt, sampling, stops, gen, started, grammar)
            except BaseException as exc:
                gen._finish(exc)
            else:
                gen._finish()

        self._worker.put(run)
        return gen

    def grammar_accepts(self, grammar: str, text: str) -> bool:
        """Whether `grammar` lets the model produce exactly `text` and then stop."""

        def run() -> bool:
            tokens = self._vocab.segments.tokens(text)
            return gbnf.accepts(self._lib, self._vocab.handle, grammar, tokens, self._vocab.eos)

        return self.call(run)

    def cached_tokens(self) -> list[int]:
        """The token sequence whose keys and values are in the KV cache, in position order."""
        return self.call(lambda: list(self._llm.input_ids[: self._llm.n_tokens].tolist()))

    def decoded_tokens(self) -> int:
        """Tokens llama.cpp has run through the model since loading (its own perf counters).

        Benchmarks difference it around a generation to measure, rather than trust, how much
        of a prompt was evaluated.
        """

        def run() -> int:
            data = self._lib.llama_perf_context(self._llm._ctx.ctx)
            return int(data.n_p_eval) + int(data.n_eval)

        return self.call(run)

    def reset_cache(self) -> None:
        """Forget the KV cache: the next prompt is evaluated from scratch."""
        self.call(self._forget_cache)

    def _forget_cache(self) -> None:
        self._llm.reset()
        self._llm._ctx.kv_cache_clear()
        self._snapshots.clear()

    @property
    def memory(self) -> MemoryKind:
        """What holds the context: a KV cache, a fixed-size recurrent state, or both."""
        return self._memory

    @property
    def adapters(self) -> tuple[Adapter, ...]:
        """The LoRA adapters applied to every generation (empty: the base model). Read without
        waiting for the worker: a status line may ask while a reply is being generated."""
        return self._adapters.applied

    def use_adapters(self, adapters: Sequence[Adapter]) -> None:
        """Apply these LoRA adapters from the next generation on, without reloading the model.

        The KV cache was computed under the previous set, so a change forgets it (a chat's
        saved state is keyed by the set too). A file that cannot be used is a
        `LoreweaverError` naming it, and the previous set stays.
        """
        self.call(lambda: self._adapters.apply(self._llm, self._lib, adapters, self._forget_cache))

    @property
    def notes(self) -> list[str]:
        """A local model has no limits to announce."""
        return []

    @property
    def keeps_state(self) -> bool:
        """The KV cache is this process's: it can be saved and restored."""
        return True

    def save_state(self) -> Any:
        """A snapshot of the KV cache and its token bookkeeping (`llama_cpp.LlamaState`)."""
        return self.call(lambda: self._llm.save_state())

    def load_state(self, state: Any) -> None:
        """Restore a `save_state()` snapshot taken on this engine."""
        self.call(lambda: self._llm.load_state(state))

    def take_line(self) -> tuple[list[int], bytes]:
        """The KV cache's tokens and cells, kept by a caller that switches between prompts
        (one line per speaker of a group scene) and handed back with `put_line`."""
        return self.call(lambda: kvcache.copy_sequence(self._llm, self._lib))

    def put_line(self, line: tuple[list[int], bytes]) -> bool:
        """Make a `take_line` snapshot the KV cache; False (cache empty) if it did not fit."""
        return self.call(lambda: kvcache.restore_sequence(self._llm, self._lib, *line))

    @property
    def can_shift(self) -> bool:
        """Whether cached cells can move (RoPE models); if not, changes re-evaluate instead."""
        return self.call(lambda: self._can_shift)

    def _identity(self) -> kvstate.ModelIdentity:
        return kvstate.ModelIdentity.of(
            self.info.path, self._lib.__version__, adapters_key(self._adapters.applied)
        )

    def save_state_file(self, path: Path) -> int:
        """Write the KV cache (used cells only) and its tokens to `path`; return its size
        (0: empty cache, nothing written). Atomic: an interrupted save leaves the old file."""
        return self.call(
            lambda: kvcache.save_sequence(self._llm, self._lib, path, self._identity(), self._n_ctx)
        )

    def load_state_file(self, path: Path, prompt: str | None = None) -> list[int] | None:
        """Restore a `save_state_file` snapshot; return the restored tokens, or None if ignored
        (see `kvcache.load_sequence`). A prompt extending them then evaluates only the rest."""

        def run() -> list[int] | None:
            new = self._vocab.prompt(prompt) if prompt is not None else None
            reusable = recurrent.reusable if self._recurrent else kvcache.reusable_by_plan
            return kvcache.load_sequence(
                self._llm, self._lib, path, self._identity(), self._n_ctx, new, reusable
            )

        return self.call(run)

    def close(self) -> None:
        """Stop any running generation, free the model, end the worker. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._closing.set()
        self._worker.stop(timeout=30)
        self.threads.close()

    def __enter__(self) -> LlamaEngine:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def load_engine(
    info: ModelInfo,
    *,
    n_ctx: int | None = None,
    n_threads: int | None = None,
    n_threads_batch: int | None = None,
    thread_wait: str = "library",
    thread_adapt: bool = threads.THREAD_ADAPT,
    n_ctx_cap: int = 8192,
) -> LlamaEngine:
    """Load `info`'s file: context = the model's trained length capped by `n_ctx_cap`."""
    from app.settings import physical_cores

    threads.set_thread_wait(thread_wait)
    if not info.usable:
        raise LoreweaverError(f"unusable model: {info.problem}", path=info.path)
    if n_ctx is None:
        trained = info.context_length or 4096
        n_ctx = max(256, min(trained, n_ctx_cap))
    return LlamaEngine(
        info,
        n_ctx=n_ctx,
        n_threads=n_threads or physical_cores(),
        n_threads_batch=n_threads_batch,
        thread_adapt=thread_adapt,
    )


def load_path(path: Path, **kwargs: Any) -> LlamaEngine:
    """Convenience for tools and tests: read the file's metadata, then load it."""
    from app.models import read_model_info

    return load_engine(read_model_info(path, "path"), **kwargs)
