"""How to turn the KV cache's token sequence into a new prompt's with the least evaluation.

A chat prompt changes in a few typical ways between turns: text is appended (a new turn), old
turns are dropped after a fixed prefix (context shift), or a block after the prefix is replaced
(a summary standing in for evicted turns, an edited reply). All three are one shape:

    cached = A B C D        new = A X C E

where A is the common prefix, C a long run shared by both, X new text (maybe empty), and B, D, E
anything. The plan keeps A in place, keeps C's cells but moves them to C's new position (llama.cpp
re-rotates the keys), evaluates X between them and E at the end. Pure: no model needed, so the
bookkeeping can be tested on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

_MOD = (1 << 61) - 1
_BASE = 1_000_003
_CANDIDATES = 8
"""Places in the cache tried per matching window (repetitive text makes many)."""


@dataclass(frozen=True)
class ReusePlan:
    """Keep `cached[:prefix]`; move `cached[run_src:run_src+run_len]` to `run_dst`; evaluate
    the rest.

    After applying it the cache holds `new[:kept_end]` at positions 0..kept_end-1, of which
    `new[prefix:run_dst]` (the inserted block) had to be evaluated; `new[kept_end:]` (the tail,
    never empty for a non-empty prompt) is evaluated by the generation itself.
    """

    prefix: int
    run_src: int
    run_dst: int
    run_len: int
    new_len: int

    @classmethod
    def keep_prefix(cls, prefix: int, new_len: int) -> ReusePlan:
        """The plan that keeps only the common prefix and evaluates everything after it."""
        return cls(prefix, prefix, prefix, 0, new_len)

    @property
    def shift(self) -> int:
        """How far the kept run moves (negative when older text was dropped before it)."""
        return self.run_dst - self.run_src

    @property
    def inserted(self) -> tuple[int, int]:
        """The span of `new` evaluated between the prefix and the run: `(prefix, run_dst)`."""
        return (self.prefix, self.run_dst if self.run_len else self.prefix)

    @property
    def kept_end(self) -> int:
        """Length of `new`'s head that is in the cache once the plan is applied."""
        return self.run_dst + self.run_len if self.run_len else self.prefix

    @property
    def reused(self) -> int:
        """Tokens taken from the cache rather than evaluated."""
        return self.prefix + self.run_len

    @property
    def evaluated(self) -> int:
        """Tokens that must go through the model: the inserted block plus the tail."""
        return self.new_len - self.reused


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def _window_hashes(tokens: Sequence[int], start: int, k: int) -> list[int]:
    """Rolling polynomial hashes of every k-token window of `tokens[start:]`, in order."""
    count = len(tokens) - start - k + 1
    if count <= 0:
        return []
    top = pow(_BASE, k - 1, _MOD)
    h = 0
    for t in tokens[start : start + k]:
        h = (h * _BASE + t + 1) % _MOD
    hashes = [h]
    for i in range(start + k, len(tokens)):
        h = ((h - (tokens[i - k] + 1) * top) * _BASE + tokens[i] + 1) % _MOD
        hashes.append(h)
    return hashes


def plan_reuse(cached: Sequence[int], new: Sequence[int], *, min_run: int = 64) -> ReusePlan:
    """Plan how to reuse `cached` (the KV cache's tokens, in position order) for `new`.

    Finds the longest common prefix p, then the first run of at least `min_run` tokens of
    `new[p:]` that also occurs in `cached[p:]`, extended both ways as far as it matches. Shorter
    runs are not worth a shift: evaluating them is cheap and they are often just chat-template
    markers. The last token of `new` is never taken from the cache: sampling needs its logits.
    O(len(cached) + len(new)) expected time.
    """
    if min_run < 1:
        raise ValueError("min_run must be ≥ 1")
    limit = max(len(new) - 1, 0)
    head = new[:limit]
    p = _common_prefix(cached, head)
    no_run = ReusePlan.keep_prefix(p, len(new))
    if limit - p < min_run or len(cached) - p < min_run:
        return no_run
    index: dict[int, list[int]] = {}
    for offset, h in enumerate(_window_hashes(cached, p, min_run)):
        places = index.setdefault(h, [])
        if len(places) < _CANDIDATES:
            places.append(p + offset)
    for offset, h in enumerate(_window_hashes(head, p, min_run)):
        starts = index.get(h)
        if not starts:
            continue
        r = p + offset
        best: tuple[int, int, int] | None = None  # (length, src, dst)
        for q in starts:
            if cached[q : q + min_run] != head[r : r + min_run]:
                continue  # a hash collision
            src, dst = q, r
            while src > p and dst > p and cached[src - 1] == head[dst - 1]:
                src, dst = src - 1, dst - 1
            end = min_run + (r - dst)
            while (
                src + end < len(cached)
                and dst + end < limit
                and cached[src + end] == head[dst + end]
            ):
                end += 1
            if best is None or end > best[0]:
                best = (end, src, dst)
        if best is not None:
            length, src, dst = best
            return ReusePlan(p, src, dst, length, len(new))
    return no_run
