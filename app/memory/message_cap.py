"""How much of one message a prompt may hold: a share of the window, cut with a visible marker.

A pasted book or a runaway reply must not push everything else out of the prompt, nor cost a
tokenization of megabytes per turn. Only the prompt's copy is cut (the stored text stays whole),
and the cut is computed on the text's head only: no more than `CHARS_PER_TOKEN` characters per
allowed token are ever read or tokenized.
"""

from __future__ import annotations

from collections.abc import Callable

MESSAGE_SHARE = 0.5
"""The most of the window (n_ctx) one message may fill in a prompt."""
CHARS_PER_TOKEN = 8
"""Characters read per allowed token: ordinary text averages about four per token."""
MARKER_TOKENS = 32
"""Room kept for the marker under the cap."""


def cap_tokens(n_ctx: int) -> int:
    return max(int(n_ctx * MESSAGE_SHARE), 2 * MARKER_TOKENS)


def head_chars(n_ctx: int) -> int:
    """Characters of a message worth reading for a prompt: more can never fit under the cap."""
    return cap_tokens(n_ctx) * CHARS_PER_TOKEN + 1


def marker(left_out: int) -> str:
    return f"\n[… message cut here: {left_out:,} more characters are not shown …]"


def cap_text(head: str, length: int, n_ctx: int, count: Callable[[str], int]) -> str:
    """The prompt's copy of a message `length` characters long whose start is `head`.

    Text that fits is returned as is; otherwise it is cut to fit `cap_tokens(n_ctx)` together
    with a marker saying how much was left out.
    """
    limit = cap_tokens(n_ctx)
    if length == len(head) and len(head.encode("utf-8")) <= limit:
        return head  # a token is at least one byte: it fits without counting
    keep = head[: head_chars(n_ctx) - 1]
    if length == len(keep) and count(keep) <= limit:
        return keep
    room = limit - MARKER_TOKENS
    tokens = count(keep)
    while tokens > room and keep:
        keep = keep[: max(int(len(keep) * room / tokens * 0.95), 0)]
        tokens = count(keep)
    return keep + marker(length - len(keep))
