"""Recurrent and hybrid models: a fixed-size state where attention models have a KV cache.

Mamba, RWKV, LFM2, Jamba, Falcon-H1 or Granite hybrids carry (in some or all layers) a state
that sums up every token read so far. Unlike a KV cache it cannot be cut back to a prefix or
shifted: llama.cpp refuses to remove the end of it. So the reuse planner of attention models
(`kvplan`: keep a prefix, move a run) must never be applied to them. Instead:

- the cache is kept when the whole cached sequence is a prefix of the new prompt (a new turn
  appended to exactly what was read), and
- at the end of each prompt (all but its last token, whose logits sampling needs) the state is
  copied into a `Snapshots` entry. The state's size does not grow with the text for a purely
  recurrent model, so a copy per turn is cheap; restoring it lets a regenerated or swiped
  reply, or a new turn after a reply whose tokens differ from the stored text, read only what
  follows that prompt instead of the whole chat.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.engine import kvcache
from app.engine.base import GenerationStats

KEEP = 3
"""Snapshots kept: the last prompt's is the one a regenerate or a swipe needs."""
MAX_BYTES = 512 * 1024**2
"""A hybrid model's snapshot holds its attention cells too and grows with the chat: above this
the snapshots are dropped rather than let memory grow."""


def reusable(cached: Sequence[int], new: Sequence[int]) -> int:
    """How many of `new`'s tokens a recurrent state that has read `cached` provides: all of
    `cached` when it is a prefix of `new` short of its last token, else none."""
    n = len(cached)
    return n if 0 < n < len(new) and list(new[:n]) == list(cached) else 0


@dataclass(frozen=True)
class Snapshot:
    tokens: tuple[int, ...]
    data: bytes


class Snapshots:
    """The states at the end of the last few prompts, newest first (one engine's, in memory)."""

    def __init__(self, keep: int = KEEP, max_bytes: int = MAX_BYTES) -> None:
        self._keep = keep
        self._max_bytes = max_bytes
        self._items: list[Snapshot] = []

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        self._items.clear()

    def take(self, llm: Any, lib: Any) -> None:
        """Copy the state of what the context has read (`llm.input_ids[:n_tokens]`)."""
        tokens = tuple(llm.input_ids[: llm.n_tokens].tolist())
        if not tokens:
            return
        same = [s for s in self._items if s.tokens == tokens]  # the same tokens, the same state
        self._items = [s for s in self._items if s.tokens != tokens]
        data = same[0].data if same else kvcache.sequence_bytes(llm, lib)
        if not data:
            return
        self._items.insert(0, Snapshot(tokens, data))
        del self._items[self._keep :]
        while self._items and sum(len(s.data) for s in self._items) > self._max_bytes:
            self._items.pop()

    def best(self, new: Sequence[int]) -> Snapshot | None:
        """The longest snapshot that `new` continues (with at least one token after it)."""
        fits = [s for s in self._items if reusable(s.tokens, new)]
        return max(fits, key=lambda s: len(s.tokens), default=None)


def line_up(
    llm: Any, lib: Any, tokens: Sequence[int], stats: GenerationStats, snapshots: Snapshots
) -> int:
    """Make the state hold the longest prefix of `tokens` it can without cutting anything:
    the current state, a snapshot, or nothing. Return how many tokens are in place."""
    cached = llm.input_ids[: llm.n_tokens].tolist()
    kept = reusable(cached, tokens)
    if kept and lib.llama_memory_seq_pos_max(llm._ctx.memory, 0) != kept - 1:
        kept = 0  # the state read more than the tokens say (a prompt cancelled mid-batch)
    snapshot = snapshots.best(tokens)
    if snapshot is not None and len(snapshot.tokens) > kept:
        if kvcache.restore_sequence(llm, lib, list(snapshot.tokens), snapshot.data):
            kept = len(snapshot.tokens)
        else:
            snapshots.clear()  # cannot be restored: none of them can
            kept = 0
    elif not kept:
        llm.n_tokens = 0
        llm._ctx.kv_cache_clear()
    stats.reused_tokens = kept
    stats.shifted_tokens = 0
    stats.evaluated_tokens = len(tokens) - kept
    return kept
