"""The engine interface every backend implements.

A backend owns one loaded model. `generate` returns a `Generation`: iterate it for text pieces as
they are produced, cancel it from any thread, read its `stats` once it is done. A backend that
holds the model's KV cache itself (`keeps_state`) can snapshot and restore it; one whose server
owns the cache says so and its state methods do nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from app.engine.adapters import Adapter

FinishReason = Literal["stop", "eos", "length", "cancelled", "error"]


@dataclass(frozen=True)
class Sampling:
    """Sampler settings. Every field is passed to the backend explicitly: no library defaults."""

    temperature: float = 0.8
    top_p: float = 0.95
    top_k: int = 40
    min_p: float = 0.05
    repeat_penalty: float = 1.1
    seed: int | None = None
    max_tokens: int = 300


@dataclass
class GenerationStats:
    prompt_tokens: int = 0
    evaluated_tokens: int = 0
    """Prompt tokens actually run through the model (the rest came from the KV cache)."""
    reused_tokens: int = 0
    """Prompt tokens taken from the KV cache (prefix plus any moved run)."""
    shifted_tokens: int = 0
    """Cached tokens moved to a new position (context shift) instead of being evaluated again."""
    completion_tokens: int = 0
    first_token_s: float | None = None
    """Seconds from the call to the first text piece (prompt evaluation included)."""
    total_s: float = 0.0
    finish_reason: FinishReason = "stop"
    stopped_by: str | None = None
    """The stop string that ended the reply, if one did."""

    @property
    def tokens_per_s(self) -> float:
        gen_s = self.total_s - (self.first_token_s or 0.0)
        return (
            (self.completion_tokens - 1) / gen_s
            if gen_s > 0 and self.completion_tokens > 1
            else 0.0
        )


class Generation(Protocol):
    """A reply being produced. Iterate for text; `cancel()` is safe from any thread."""

    def __iter__(self) -> Iterator[str]: ...

    def batches(self, period: float) -> Iterator[str]:
        """The same text, read at most once per `period`: each item joins what arrived since
        the last (the first comes as soon as there is any). For a reader that shows text no
        faster than that, such as a screen."""
        ...

    def prompt_progress(self, period: float) -> Iterator[tuple[int, int]]:
        """`(evaluated, total)` prompt tokens while the prompt is evaluated, at most once per
        `period`, ending when it is over: what a screen shows instead of a bare wait. Read it
        before the text (it returns once the first text could come)."""
        ...

    def cancel(self) -> None: ...

    @property
    def text(self) -> str:
        """Everything produced so far (the whole reply once iteration ends)."""
        ...

    @property
    def stats(self) -> GenerationStats: ...


class Engine(Protocol):
    @property
    def n_ctx(self) -> int: ...

    def tokenize(self, text: str) -> list[int]:
        """Tokens of `text`, BOS added iff the model wants it. Control tokens come only from a
        `Prompt`'s markup segments: any other text is plain text (`app.prompts.segments`)."""
        ...

    def count_tokens(self, text: str) -> int: ...

    def generate(
        self,
        prompt: str,
        sampling: Sampling,
        stop: Sequence[str] = (),
        cancel: threading.Event | None = None,
        grammar: str | None = None,
    ) -> Generation:
        """`grammar`: GBNF text the reply must follow (llama.cpp grammars)."""
        ...

    @property
    def notes(self) -> list[str]:
        """What a chat on this engine should tell the user up front (its limits; one line
        each, often none)."""
        ...

    @property
    def adapters(self) -> tuple[Adapter, ...]:
        """The LoRA adapters applied now (a character's voice; usually none)."""
        ...

    def use_adapters(self, adapters: Sequence[Adapter]) -> None:
        """Apply these adapters from the next generation on, without reloading the model; an
        engine that cannot raises `LoreweaverError` when asked for any."""
        ...

    @property
    def keeps_state(self) -> bool:
        """Whether the KV cache lives in this process, so the state methods below do something
        (False for a server, which keeps its own cache: they are then no-ops)."""
        ...

    def save_state(self) -> object | None:
        """A snapshot of the KV cache in memory (None: nothing kept, see `keeps_state`)."""
        ...

    def load_state(self, state: object) -> None:
        """Restore a `save_state()` snapshot taken on this engine."""
        ...

    def save_state_file(self, path: Path) -> int:
        """Write the KV cache to `path`; its size in bytes (0: nothing written)."""
        ...

    def load_state_file(self, path: Path, prompt: str | None = None) -> list[int] | None:
        """Restore a `save_state_file` snapshot when it fits the model and `prompt`; the
        restored tokens, or None when it was ignored (or nothing is kept here)."""
        ...

    def close(self) -> None: ...
