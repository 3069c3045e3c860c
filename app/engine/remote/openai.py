"""The OpenAI-compatible protocols: `/v1/completions` with the rendered prompt (vLLM, Ollama,
llama-cpp-python's server, TGI, hosted endpoints), and `/v1/chat/completions` for a server with
no raw completion, which receives the prompt's turns and renders them with its own template.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from app.engine.base import FinishReason, Sampling
from app.engine.remote.api import MIN_N_CTX, Chunk, Payload, ServerInfo, as_count, prompt_n_of
from app.engine.remote.http import RemoteError, Server
from app.errors import LoreweaverError
from app.models import RemoteModel


class OpenAIApi:
    """The OpenAI-compatible `/v1/completions` (vLLM, Ollama, llama-cpp-python's server, TGI).

    Sampler fields beyond OpenAI's own (top_k, min_p, repeat penalty) and structured output
    are sent under each server's known name; a server that lacks one ignores it.
    """

    completion_path = "/v1/completions"
    ignored: tuple[str, ...] = ("top_k", "min_p", "repeat_penalty")
    notes: tuple[str, ...] = ()
    missing_hint = (
        "if it has chat completions only, add it again with --api openai-chat (its own "
        "template then decides the prompt format)"
    )

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
        n_ctx = as_count(entry.get("max_model_len"))
        return ServerInfo(model=self.model, n_ctx=n_ctx if n_ctx and n_ctx >= MIN_N_CTX else None)

    def encode(self, server: Server, prompt: str) -> Payload:
        """The text: not every such server takes token ids (llama-cpp-python's does not), so
        control-token strings inside text segments are the server tokenizer's to parse."""
        return str(prompt)

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
            prompt_tokens = as_count(usage.get("prompt_tokens"))
            details = usage.get("prompt_tokens_details")
            cached = as_count(details.get("cached_tokens")) if isinstance(details, dict) else None
            if prompt_tokens is not None and cached is not None:
                evaluated = prompt_tokens - cached
        evaluated = prompt_n_of(event) if evaluated is None else evaluated
        if not choices:  # the usage-only event that ends a vLLM stream
            return Chunk(prompt_tokens=prompt_tokens, evaluated_tokens=evaluated)
        choice = choices[0]
        text = self._text(choice) if isinstance(choice, dict) else None
        if not isinstance(text, str):
            raise ValueError("a choice without text")
        reason = choice.get("finish_reason")
        finish: FinishReason | None = (
            None if reason is None else "length" if reason == "length" else "stop"
        )
        word = choice.get("stop_reason")  # vLLM names the stop string; others do not
        return Chunk(
            text,
            finish,
            stopped_by=word if finish == "stop" and isinstance(word, str) and word else None,
            prompt_tokens=prompt_tokens,
            evaluated_tokens=evaluated,
        )

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

    @staticmethod
    def _text(choice: dict[str, Any]) -> object:
        return choice.get("text")


class OpenAIChatApi(OpenAIApi):
    """`/v1/chat/completions`, for a server with no raw completion: the prompt's turns go as
    messages and the server's own chat template renders them, so the prompt format is the
    server's, not Loreweaver's (`notes` says so). Everything else is as `/v1/completions`."""

    completion_path = "/v1/chat/completions"
    missing_hint = ""

    def __init__(self, remote: RemoteModel) -> None:
        super().__init__(remote)
        self.notes = (
            f"server {remote.name!r} takes chat turns only (/v1/chat/completions): its own "
            "template decides the prompt format, so --template and turn markup do not apply",
        )

    def encode(self, server: Server, prompt: str) -> Payload:
        """The turns the prompt was rendered from; a prompt that is more than a render of
        turns (a reply being continued, a tool's raw text) cannot be sent as chat."""
        messages = getattr(prompt, "messages", ())
        if not messages:
            raise LoreweaverError(
                f"{server.label()} takes chat turns only, and this request is not a plain "
                "chat turn (continuing a reply needs raw completion): use a server with "
                "/v1/completions or llama-server's API for it"
            )
        return [{"role": m.role, "content": m.content} for m in messages]

    def body(
        self,
        prompt: Payload,
        sampling: Sampling,
        stops: Sequence[str],
        schema: dict[str, Any] | None,
    ) -> dict[str, Any]:
        body = super().body(prompt, sampling, stops, schema)
        body["messages"] = body.pop("prompt")
        return body

    @staticmethod
    def _text(choice: dict[str, Any]) -> object:
        delta = choice.get("delta")
        if not isinstance(delta, dict):
            return None
        text = delta.get("content")
        return "" if text is None else text  # the role-only first delta, the final one
