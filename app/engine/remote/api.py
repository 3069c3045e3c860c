"""The two wire protocols: llama.cpp's `llama-server` native API and the OpenAI-compatible one.

Both receive the prompt Loreweaver rendered (raw completion), so prompt formats, lore and memory
work as with the local engine. Each dialect turns settings into a request body, a stream event
into a `Chunk`, and answers what the server is (context, template) and how it tokenizes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from app.engine.base import FinishReason, Sampling
from app.engine.remote.http import RemoteError, Server
from app.models import RemoteModel
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


class Dialect(Protocol):
    completion_path: str
    ignored: tuple[str, ...]
    """Sampler settings this protocol has no standard field for (sent as extensions that a
    server may ignore)."""

    def describe(self, server: Server) -> ServerInfo: ...

    def encode(self, server: Server, prompt: str) -> str | list[int]:
        """The prompt as this API sends it: text, or token ids when the server takes them."""
        ...

    def body(
        self,
        prompt: str | list[int],
        sampling: Sampling,
        stops: Sequence[str],
        schema: dict[str, Any] | None,
    ) -> dict[str, Any]: ...

    def chunk(self, event: dict[str, Any]) -> Chunk: ...

    def tokenize(self, server: Server, text: str) -> list[int] | None:
        """The server's tokens for `text` (BOS as the model wants), or None if it cannot."""
        ...


def _int(value: object) -> int | None:
    """A count the server reported, or None when it is not a non-negative whole number."""
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    return value if ok else None  # type: ignore[return-value]


def _text(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value.strip() else None


def _timings(event: dict[str, Any]) -> int | None:
    timings = event.get("timings")
    return _int(timings.get("prompt_n")) if isinstance(timings, dict) else None


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

    def __init__(self) -> None:
        self._segments: dict[tuple[str, bool], list[int]] = {}
        self._bos: list[int] | None = None

    def describe(self, server: Server) -> ServerInfo:
        props = server.get_json("/props")
        if not isinstance(props, dict):
            raise RemoteError(f"{server.label()}: /props is not an object; is it llama-server?")
        settings = props.get("default_generation_settings")
        n_ctx = _int(props.get("n_ctx"))
        if n_ctx is None and isinstance(settings, dict):
            n_ctx = _int(settings.get("n_ctx"))
        path = _text(props, "model_path")
        return ServerInfo(
            model=path.rsplit("/", 1)[-1] if path else None,
            n_ctx=n_ctx if n_ctx and n_ctx >= MIN_N_CTX else None,
            chat_template=_text(props, "chat_template"),
            bos_token=_text(props, "bos_token"),
            eos_token=_text(props, "eos_token"),
            slots=_int(props.get("total_slots")),
        )

    def encode(self, server: Server, prompt: str) -> str | list[int]:
        return self.tokenize(server, prompt)

    def body(
        self,
        prompt: str | list[int],
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
            prompt_tokens=_int(event.get("tokens_evaluated")),
            evaluated_tokens=_timings(event),
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
        if not isinstance(tokens, list) or not all(_int(t) is not None for t in tokens):
            raise RemoteError(f"{server.label()}: /tokenize answered without a token list")
        return tokens


class OpenAIApi:
    """The OpenAI-compatible `/v1/completions` (vLLM, Ollama, llama-cpp-python's server, TGI).

    Sampler fields beyond OpenAI's own (top_k, min_p, repeat penalty) and structured output
    are sent under each server's known name; a server that lacks one ignores it.
    """

    completion_path = "/v1/completions"
    ignored: tuple[str, ...] = ("top_k", "min_p", "repeat_penalty")

    def __init__(self, remote: RemoteModel) -> None:
        self.remote = remote
        self.model = remote.model
        self._tokenizer: str | None = None
        self._probed = False

    def describe(self, server: Server) -> ServerInfo:
        listing = server.get_json("/v1/models")
        data = listing.get("data") if isinstance(listing, dict) else None
        if not isinstance(data, list):
            raise RemoteError(f"{server.label()}: /v1/models has no model list; check --api")
        models = [m for m in data if isinstance(m, dict) and isinstance(m.get("id"), str)]
        ids = [m["id"] for m in models]
        if self.model is None:
            if not ids:
                raise RemoteError(f"{server.label()} serves no model")
            self.model = ids[0]
        elif self.model not in ids:
            raise RemoteError(
                f"{server.label()} has no model {self.model!r} (it serves: "
                f"{', '.join(ids) or 'none'}); fix --model"
            )
        entry = models[ids.index(self.model)]
        n_ctx = _int(entry.get("max_model_len"))
        return ServerInfo(model=self.model, n_ctx=n_ctx if n_ctx and n_ctx >= MIN_N_CTX else None)

    def encode(self, server: Server, prompt: str) -> str | list[int]:
        """The text: not every such server takes token ids (llama-cpp-python's does not), so
        control-token strings inside text segments are the server tokenizer's to parse."""
        return str(prompt)

    def body(
        self,
        prompt: str | list[int],
        sampling: Sampling,
        stops: Sequence[str],
        schema: dict[str, Any] | None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "prompt": prompt,
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": sampling.max_tokens,
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "top_k": sampling.top_k,
            "min_p": sampling.min_p,
            "repeat_penalty": sampling.repeat_penalty,  # llama.cpp servers
            "repetition_penalty": sampling.repeat_penalty,  # vLLM, TGI
            "cache_prompt": True,  # llama-server's OpenAI endpoint
        }
        if self.model is not None:
            body["model"] = self.model
        if sampling.seed is not None:
            body["seed"] = sampling.seed
        if stops:
            body["stop"] = list(stops)
        if schema is not None:
            from llama_cpp.llama_grammar import json_schema_to_gbnf

            body["guided_json"] = schema  # vLLM before 0.10
            body["structured_outputs"] = {"json": schema}  # vLLM
            body["format"] = schema  # Ollama
            body["json_schema"] = schema  # llama-server
            body["grammar"] = json_schema_to_gbnf(json.dumps(schema))  # llama-cpp-python
        return body

    def chunk(self, event: dict[str, Any]) -> Chunk:
        choices = event.get("choices")
        if not isinstance(choices, list):
            raise ValueError("an event without 'choices'")
        usage = event.get("usage")
        prompt_tokens = evaluated = None
        if isinstance(usage, dict):
            prompt_tokens = _int(usage.get("prompt_tokens"))
            details = usage.get("prompt_tokens_details")
            cached = _int(details.get("cached_tokens")) if isinstance(details, dict) else None
            if prompt_tokens is not None and cached is not None:
                evaluated = prompt_tokens - cached
        evaluated = _timings(event) if evaluated is None else evaluated
        if not choices:  # the usage-only event that ends a vLLM stream
            return Chunk(prompt_tokens=prompt_tokens, evaluated_tokens=evaluated)
        choice = choices[0]
        text = choice.get("text") if isinstance(choice, dict) else None
        if not isinstance(text, str):
            raise ValueError("a choice without 'text'")
        reason = choice.get("finish_reason")
        finish: FinishReason | None = (
            None if reason is None else "length" if reason == "length" else "stop"
        )
        return Chunk(text, finish, prompt_tokens=prompt_tokens, evaluated_tokens=evaluated)

    def tokenize(self, server: Server, text: str) -> list[int] | None:
        """llama-cpp-python's `/extras/tokenize` or vLLM's `/tokenize`, whichever answers;
        None for a server with neither (Ollama, hosted APIs)."""
        attempts = {
            "/extras/tokenize": {"input": text},
            "/tokenize": {"prompt": text, "model": self.model, "add_special_tokens": True},
        }
        if self._probed and self._tokenizer is None:
            return None
        for path in [self._tokenizer] if self._tokenizer else list(attempts):
            try:
                reply = server.request_json("POST", path, attempts[path])
            except RemoteError as exc:
                if exc.status in (404, 405) and not self._probed:
                    continue
                raise
            tokens = reply.get("tokens") if isinstance(reply, dict) else None
            if isinstance(tokens, list):
                self._tokenizer, self._probed = path, True
                return [t for t in tokens if isinstance(t, int)]
        self._probed = True
        return None
