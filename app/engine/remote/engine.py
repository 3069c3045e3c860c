"""`RemoteEngine`: the `Engine` interface over an inference server's HTTP API.

Each generation streams on a thread of its own, so several can run at once against a server
that batches them (llama-server with `-np`, vLLM); the server serialises or batches, not us.
Stop strings are sent to the server and also matched here (`StopMatcher`), so a stop split
across events is never shown. `stopped_by` is known when the match happens here or the server
names the stop (llama-server, vLLM); an OpenAI-compatible server that stops on one itself
reports only `stop`, like an end of text.

KV state: the server owns the cache, so `keeps_state` is False and the state methods do nothing;
llama-server keeps each chat's prompt in a slot (`cache_prompt`) and the stats report what it
evaluated, from its own `timings.prompt_n`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.engine.base import GenerationStats, Sampling
from app.engine.generation import QueuedGeneration
from app.engine.remote.api import Chunk, Dialect, LlamaServerApi, ServerInfo
from app.engine.remote.http import RemoteError, Server
from app.engine.remote.openai import OpenAIApi, OpenAIChatApi
from app.engine.stops import StopMatcher
from app.errors import LoreweaverError
from app.models import ModelInfo, RemoteModel

if TYPE_CHECKING:
    from app.engine.adapters import Adapter

DEFAULT_N_CTX = 4096
"""The context window assumed when neither the server nor the configuration gives one."""
RETRIES = 3
"""Attempts after the first, only while the server has produced nothing (safe to repeat)."""
BACKOFF_S = 0.5
BACKOFF_CAP_S = 8.0
CHARS_PER_TOKEN = 4
"""For the estimate used when a server has no tokenizer endpoint."""


def dialect(remote: RemoteModel) -> Dialect:
    if remote.api == "llama-server":
        return LlamaServerApi()
    return OpenAIChatApi(remote) if remote.api == "openai-chat" else OpenAIApi(remote)


def server_of(remote: RemoteModel) -> Server:
    return Server(remote.name, remote.base_url, remote.api_key_env)


class RemoteEngine:
    """One model on an inference server. Construction asks the server what it serves."""

    def __init__(self, info: ModelInfo, remote: RemoteModel, *, n_ctx_cap: int = 8192) -> None:
        self.info = info
        self.remote = remote
        self.server = server_of(remote)
        self.api = dialect(remote)
        self.server_info: ServerInfo = self.api.describe(self.server)
        reported = remote.n_ctx or self.server_info.n_ctx or DEFAULT_N_CTX
        self._n_ctx = min(reported, n_ctx_cap) if remote.n_ctx is None else reported
        self.tokens_estimated = False
        """True when the server has no tokenizer: counts are then estimates."""
        self.cache_prompt = True
        """False: the server evaluates every prompt whole (a benchmark's baseline)."""
        self._active: set[threading.Event] = set()
        self._lock = threading.Lock()
        self._closed = False
        self.tokenize("")  # finds the tokenizer endpoint now, so `notes` is right from the start

    @property
    def n_ctx(self) -> int:
        return self._n_ctx

    @property
    def notes(self) -> list[str]:
        """What a chat on this server should say up front (one line each)."""
        notes = list(self.api.notes)
        if self.tokens_estimated:
            notes.append(
                f"{self.server.label()} has no tokenizer endpoint: token counts are estimates "
                f"(~{CHARS_PER_TOKEN} characters a token), so the context may overflow or go "
                "unused"
            )
        return notes

    @property
    def adapters(self) -> tuple[Adapter, ...]:
        return ()

    def use_adapters(self, adapters: Sequence[Adapter]) -> None:
        """A server applies the adapters it was started with; none can be sent per chat."""
        if adapters:
            raise LoreweaverError(
                f"{self.server.label()} cannot take this character's LoRA adapters: "
                "start the server with them, or remove `adapters` from the sheet"
            )

    @property
    def keeps_state(self) -> bool:
        """The server keeps the KV cache: nothing here to save or restore."""
        return False

    def save_state(self) -> None:
        return None

    def load_state(self, state: object) -> None:
        return None

    def save_state_file(self, path: Path) -> int:
        return 0

    def load_state_file(self, path: Path, prompt: str | None = None) -> None:
        return None

    def reset_cache(self) -> None:
        """A server's cache is shared with its other requests and cannot be emptied from here;
        what emptying it is for (a seed making the same reply whatever was evaluated before)
        comes from the server evaluating each prompt whole, so every later request asks for
        that (`cache_prompt` off). Seen on llama-server with 4 slots: with its cache, a bark's
        seed gave another line from one run to the next (barks call this)."""
        self.cache_prompt = False

    def tokenize(self, text: str) -> list[int]:
        """The server's tokens; without a tokenizer endpoint, a placeholder list whose length
        estimates the count (`tokens_estimated`)."""
        tokens = self.api.tokenize(self.server, text)
        if tokens is not None:
            return tokens
        self.tokens_estimated = True
        return [0] * (len(text.encode("utf-8")) // CHARS_PER_TOKEN + 1)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenize(text))

    def generate(
        self,
        prompt: str,
        sampling: Sampling,
        stop: Sequence[str] = (),
        cancel: threading.Event | None = None,
        grammar: str | None = None,
        *,
        schema: dict[str, Any] | None = None,
    ) -> QueuedGeneration:
        """Stream a reply; `grammar` (GBNF, as the local engine takes it) or `schema` (a JSON
        schema) constrains it through the server's grammar support."""
        if self._closed:
            raise LoreweaverError(f"{self.server.label()}: the engine has been closed")
        if sampling.max_tokens < 1 or sampling.temperature < 0:
            raise LoreweaverError("sampling needs max_tokens ≥ 1 and temperature ≥ 0")
        gen = QueuedGeneration(cancel)
        payload = self.api.encode(self.server, prompt)
        room = self.server_info.n_ctx or self.n_ctx
        ids = isinstance(payload, list) and all(isinstance(t, int) for t in payload[:1])
        if ids and len(payload) >= room:  # token ids: an exact count
            raise LoreweaverError(  # llama-server would cut the prompt's middle out silently
                f"{self.server.label()}: the prompt is {len(payload)} tokens, more than the "
                f"server's context of {room} (a slot's); shorten it or give the server more"
            )
        body = self.api.body(payload, sampling, list(stop), schema)
        if grammar is not None:
            body["grammar"] = grammar  # llama-server and llama-cpp-python's server read GBNF
        if not self.cache_prompt:
            body["cache_prompt"] = False
        started = time.perf_counter()
        with self._lock:
            self._active.add(gen.cancel_event)
        opened = threading.Event()
        refused: list[BaseException] = []

        def run() -> None:
            try:
                self._generate(body, list(stop), sampling.max_tokens, gen, started, opened)
            except BaseException as exc:
                if not opened.is_set():
                    refused.append(exc)
                if not gen.cancelled:
                    gen.stats.finish_reason = "error"  # what was said is kept as interrupted
                gen._finish(exc)
            else:
                gen._finish()
            finally:
                opened.set()
                with self._lock:
                    self._active.discard(gen.cancel_event)

        threading.Thread(target=run, name="remote-generation", daemon=True).start()
        opened.wait()
        if refused:  # before any text: the caller's `failed` row says why, as for a local start
            raise refused[0]
        return gen

    def _generate(
        self,
        body: dict[str, Any],
        stops: list[str],
        max_tokens: int,
        gen: QueuedGeneration,
        started: float,
        opened: threading.Event,
    ) -> None:
        """Open the stream (retrying what is safe to retry), report it open, then read it."""
        for attempt in range(RETRIES + 1):
            try:
                events = self.server.stream(self.api.completion_path, body, gen.cancel_event)
                break
            except RemoteError as exc:
                if exc.status in (404, 405) and self.api.missing_hint:
                    raise RemoteError(
                        f"{exc}; {self.api.missing_hint}", status=exc.status
                    ) from None
                if not exc.retryable or attempt == RETRIES or gen.text or gen.cancelled:
                    raise
                pause = min(max(exc.retry_after, BACKOFF_S * 2**attempt), BACKOFF_CAP_S)
                if gen.cancel_event.wait(pause):
                    gen.stats.finish_reason = "cancelled"
                    return
        opened.set()
        self._read(events, stops, max_tokens, gen, started)

    def _read(
        self,
        events: Iterator[dict[str, Any]],
        stops: list[str],
        max_tokens: int,
        gen: QueuedGeneration,
        started: float,
    ) -> None:
        stats = gen.stats
        matcher = StopMatcher(stops)
        ended = False
        budget = 2 * max_tokens + 64  # events without text count too: a stream must end
        for event in events:
            if gen.cancelled:
                break
            budget -= 1
            if budget < 0:  # a server that never ends its stream
                stats.finish_reason, ended = "length", True
                break
            try:
                chunk = self.api.chunk(event)
            except ValueError as exc:
                raise RemoteError(
                    f"{self.server.label()} sent an event this API does not have ({exc}); "
                    "check --api"
                ) from None
            if chunk.text:
                if stats.completion_tokens >= max_tokens:  # a server ignoring the limit
                    stats.finish_reason = "length"
                    ended = True
                    break
                stats.completion_tokens += 1
                shown = matcher.feed(chunk.text)
                if shown:
                    if stats.first_token_s is None:
                        stats.first_token_s = time.perf_counter() - started
                    gen._put(shown)
            self._count(chunk, stats)
            if matcher.stopped_by is not None:
                stats.finish_reason, stats.stopped_by = "stop", matcher.stopped_by
                ended = True
                break  # closing the stream tells the server to stop
            if chunk.finish is not None:
                ended = True
                stats.finish_reason = chunk.finish
                stats.stopped_by = chunk.stopped_by
        if gen.cancelled:
            stats.finish_reason = "cancelled"
        elif not ended:
            raise RemoteError(
                f"{self.server.label()}: the reply stream ended before the reply did; the "
                "server may have stopped (the partial reply is kept), check it and try again"
            )
        else:
            tail = matcher.flush()
            if tail:
                gen._put(tail)
            if matcher.stopped_by is not None:
                stats.finish_reason, stats.stopped_by = "stop", matcher.stopped_by
        if not stats.evaluated_tokens:  # the server did not say: count it all as evaluated
            stats.evaluated_tokens = stats.prompt_tokens
        stats.reused_tokens = max(0, stats.prompt_tokens - stats.evaluated_tokens)
        stats.total_s = time.perf_counter() - started

    @staticmethod
    def _count(chunk: Chunk, stats: GenerationStats) -> None:
        if chunk.prompt_tokens is not None:
            stats.prompt_tokens = chunk.prompt_tokens
        if chunk.evaluated_tokens is not None:
            stats.evaluated_tokens = chunk.evaluated_tokens

    def close(self) -> None:
        """Cancel every running generation (their streams close). Idempotent."""
        self._closed = True
        with self._lock:
            for event in self._active:
                event.set()

    def __enter__(self) -> RemoteEngine:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
