"""Per-line rules: max characters, words a line must or must not mention.

Policy: a line is generated up to 1 + `retries` times, each attempt with its own seed derived
from the node's; the first attempt that keeps every rule is stored. When none does, the best
attempt (fewest broken rules, earliest first) is stored, cut to `max_chars` at a word boundary
if it is too long, and flagged: its metadata lists what it breaks (`scene.flags`) and the run
ends with a one-line count, so a writer can find and fix those lines in the app. The run never
fails over a rule (a small model would make such a run never finish).
"""

from __future__ import annotations

import re

from app.scenes.script import Rules

EMPTY = "…"
"""What an empty best attempt is stored as (a tree line cannot be blank)."""


def _mentions(text: str, word: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text, re.IGNORECASE) is not None


def broken(text: str, rules: Rules) -> list[str]:
    """What `text` breaks, one short phrase each (empty: it keeps every rule)."""
    out = ["is empty"] if not text.strip() else []
    if rules.max_chars is not None and len(text) > rules.max_chars:
        out.append(f"is longer than {rules.max_chars} characters")
    out += [f"does not mention {w!r}" for w in rules.must_mention if not _mentions(text, w)]
    out += [f"mentions {w!r}" for w in rules.must_not_mention if _mentions(text, w)]
    return out


def cut(text: str, limit: int | None) -> str:
    """`text` within `limit` characters, cut at the last space when there is one."""
    if limit is None or len(text) <= limit:
        return text
    head = text[:limit]
    space = head.rfind(" ")
    return (head[:space] if space > limit // 2 else head).rstrip()


def best(attempts: list[str], rules: Rules) -> tuple[str, list[str], int]:
    """The attempt to store, what it breaks and its index (see the module's policy)."""
    scored = [(len(broken(text, rules)), index) for index, text in enumerate(attempts)]
    _, index = min(scored)
    text = cut(attempts[index], rules.max_chars).strip()
    flags = broken(attempts[index], rules)
    return (text or EMPTY), flags, index


def token_cap(rules: Rules, max_tokens: int) -> int:
    """A token budget that cannot run far past `max_chars` (a token is at least ~2 chars of
    prose), so a long line is cut by the model's own stop rather than only afterwards."""
    if rules.max_chars is None:
        return max_tokens
    return max(1, min(max_tokens, rules.max_chars // 2 + 1))
