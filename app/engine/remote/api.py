"""The wire protocols' common shape (`Dialect`) and llama.cpp's `llama-server` native API (the
OpenAI-compatible ones are in `openai`).

They receive the prompt Loreweaver rendered (raw completion), so prompt formats, lore and memory
work as with the local engine. Each dialect turns settings into a request body, a stream event
into a `Chunk`, and answers what the server is (context, template) and how it tokenizes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from app.engine.base import FinishReason, Sampling
from app.engine.remote.http import RemoteError, Server
from app.prompts.segments import segments_of

MIN_N_CTX = 256
"""A reported context smaller than this is not believed (the configured or default one is used)."""
SEGMENT_CACHE = 4096
"""Segments whose tokens are kept (a chat's history repeats them every turn)."""
REPEAT_WINDOW = 64
"""The repeat penalty's window, as the local engine's (`llama_open.REPEAT_WINDOW`)."""


@dataclass(frozen=True)
class Chunk:
    """What one stream event says: new text, and at the end why it stopped and the counts."""

    text: str = ""
    finish: FinishReason | None = None
    stopped_by: str | None = None
    prompt_tokens: int | None = None
    evaluated_tokens: int | None = None
    """Prompt tokens the server ran through the model (the rest came from its cache)."""


@dataclass(frozen=True)
class ServerInfo:
    """What the server reports about its model."""

    model: str | None = None
    n_ctx: int | None = None
    chat_template: str | None = None
    bos_token: str | None = None
    eos_token: str | None = None
    slots: int | None = None


Payload = str | list[int] | list[dict[str, str]]
"""A prompt as a request carries it: text, token ids, or chat turns (role and content)."""


class Dialect(Protocol):
    completion_path: str
    notes: tuple[str, ...]
    """What a chat through this API should know up front (one line each)."""
    missing_hint: str
    """What to do when the server has no `completion_path` (HTTP 404/405), or empty."""
    ignored: tuple[str, ...]
    """Sampler settings this protocol has no standard field for (sent as extensions that a
    server may ignore)."""

    def describe(self, server: Server) -> ServerInfo: ...

    def encode(self, server: Server, prompt: str) -> Payload:
        """The prompt as this API sends it: text, token ids, or chat turns."""
        ...

    def body(
        self,
        prompt: Payload,
        sampling: Sampling,
        stops: Sequence[str],
        schema: dict[str, Any] | None,
    ) -> dict[str, Any]: ...

    def chunk(self, event: dict[str, Any]) -> Chunk: ...

    def tokenize(self, server: Server, text: str) -> list[int] | None:
        """The server's tokens for `text` (BOS as the model wants), or None if it cannot."""
        ...


def as_count(value: object) -> int | None:
    """A count the server reported, or None when it is not a non-negative whole number."""
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    return value if ok else None  # type: ignore[return-value]


def _text(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value.strip() else None


def prompt_n_of(event: dict[str, Any]) -> int | None:
    timings = event.get("timings")
    return as_count(timings.get("prompt_n")) if isinstance(timings, dict) else None


class LlamaServerApi:
    """llama.cpp's `llama-server`: `/completion`, `/tokenize`, `/props`.

    The prompt goes as token ids, made segment by segment (`app.prompts.segments`): the
    format's markup with control tokens parsed, every text segment (card, lore, chat) as plain
    text, so text holding a turn marker cannot forge a turn, as with the local engine. Each
    segment is tokenized once (cached); BOS is added when the model wants it.

    `cache_prompt` keeps the prompt's KV cells in the slot between requests, so a chat's next
    turn evaluates only its new tokens. `id_slot` is -1: the server gives each request the idle
    slot whose cached prompt shares the most with it, which keeps each chat in its own slot
    without Loreweaver tracking slots that other clients of a shared server also use.
    """

    completion_path = "/completion"
    ignored: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    missing_hint = "if it is not llama-server, add it again with --api openai"

    def __init__(self) -> None:
        self._segments: dict[tuple[str, bool], list[int]] = {}
        self._bos: list[int] | None = None

    def describe(self, server: Server) -> ServerInfo:
        props = server.get_json("/props")
        if not isinstance(props, dict):
            raise RemoteError(f"{server.label()}: /props is not an object; is it llama-server?")
        settings = props.get("default_generation_settings")
        n_ctx = as_count(props.get("n_ctx"))
        if n_ctx is None and isinstance(settings, dict):
            n_ctx = as_count(settings.get("n_ctx"))
        path = _text(props, "model_path")
        return ServerInfo(
            model=path.rsplit("/", 1)[-1] if path else None,
            n_ctx=n_ctx if n_ctx and n_ctx >= MIN_N_CTX else None,
            chat_template=_text(props, "chat_template"),
            bos_token=_text(props, "bos_token"),
            eos_token=_text(props, "eos_token"),
            slots=as_count(props.get("total_slots")),
        )

    def encode(self, server: Server, prompt: str) -> Payload:
        return self.tokenize(server, prompt)

    def body(
        self,
        prompt: Payload,
        sampling: Sampling,
        stops: Sequence[str],
        schema: dict[str, Any] | None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "prompt": prompt,
            "stream": True,
            "cache_prompt": True,
            "id_slot": -1,
            "n_predict": sampling.max_tokens,
            "temperature": sampling.temperature,
            "top_k": sampling.top_k,
            "top_p": sampling.top_p,
            "min_p": sampling.min_p,
            "repeat_penalty": sampling.repeat_penalty,
            "repeat_last_n": REPEAT_WINDOW,
            "seed": -1 if sampling.seed is None else sampling.seed,
            "stop": list(stops),
        }
        if schema is not None:
            body["json_schema"] = schema
        return body

    def chunk(self, event: dict[str, Any]) -> Chunk:
        text = event.get("content")
        if not isinstance(text, str):
            raise ValueError("an event without 'content'")
        if not event.get("stop"):
            return Chunk(text)
        kind = event.get("stop_type")
        word = event.get("stopping_word")
        finish: FinishReason
        if kind == "word" or event.get("stopped_word"):
            finish = "stop"
        elif kind == "limit" or event.get("stopped_limit"):
            finish = "length"
        else:
            finish = "eos"
        return Chunk(
            text,
            finish,
            stopped_by=word if finish == "stop" and isinstance(word, str) and word else None,
            prompt_tokens=as_count(event.get("tokens_evaluated")),
            evaluated_tokens=prompt_n_of(event),
        )

    def tokenize(self, server: Server, text: str) -> list[int]:
        if self._bos is None:
            self._bos = self._ask(server, "", special=False, bos=True)
        tokens = list(self._bos)
        for segment in segments_of(text):
            key = (segment.text, segment.special)
            cached = self._segments.get(key)
            if cached is None:
                cached = self._ask(server, segment.text, special=segment.special, bos=False)
                if len(self._segments) >= SEGMENT_CACHE:
                    self._segments.clear()
                self._segments[key] = cached
            tokens += cached
        return tokens

    @staticmethod
    def _ask(server: Server, text: str, *, special: bool, bos: bool) -> list[int]:
        body = {"content": text, "add_special": bos, "parse_special": special}
        reply = server.request_json("POST", "/tokenize", body)
        tokens = reply.get("tokens") if isinstance(reply, dict) else None
        if not isinstance(tokens, list) or not all(as_count(t) is not None for t in tokens):
            raise RemoteError(f"{server.label()}: /tokenize answered without a token list")
        return tokens
