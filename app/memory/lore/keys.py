"""Key matching for lorebook entries, with SillyTavern's world-info rules.

The scanned text is built the way SillyTavern builds it: the newest message first, each one
trimmed and prefixed with a `\\x01` marker, then the text of entries activated so far (recursion).
A key matches when:
- it is a regex (written `/pattern/flags`, whatever the entry's `use_regex`, which SillyTavern
  writes on every embedded entry but does not read): the regex finds it; regex keys ignore the
  case and whole-word settings and carry their own flags;
- otherwise, as a substring, lower-cased on both sides unless the entry is case-sensitive;
  with "match whole words", a one-word key must be bounded by a non-word character or an end
  (`\\x01` counts, so a key never straddles two messages); a key of several words stays a substring.

Deliberate differences from SillyTavern's JavaScript: `\\W` is Unicode-aware (so "naïve" does not
contain the whole word "na"), every escaped `\\/` is unescaped (ST unescapes only the first), a
`/…/` key that does not compile is reported and its entry skipped (ST quietly reads it as plain
text), and regexes run on RE2 in linear time (see `lore_regex` for what that supports). The
scanned text is capped at `MAX_SCAN` characters, newest first.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from app.memory.lore.regex import BadKey, KeyRegex, RegexBudget, compile_key, encode

MARKER = "\x01"
JOINER = "\n" + MARKER
MAX_KEY = 1000
"""Longer keys are refused: no real key is that long, and regex cost grows with it."""
MAX_SCAN = 50_000
"""Characters scanned per turn (about 12,000 tokens; SillyTavern scans 2 messages by default),
so a huge message costs each key a bounded scan; the newest text is kept."""

_SLASHED = re.compile(r"^/([\s\S]+?)/([gimsuy]*)$")
_UNESCAPED_SLASH = re.compile(r"(^|[^\\])/")

__all__ = ["BadKey", "Haystack", "KeyRules", "RegexBudget", "haystack", "key_problem"]


@dataclass(frozen=True)
class KeyRules:
    case_sensitive: bool = False
    whole_words: bool = False


@dataclass(frozen=True)
class Haystack:
    """The scanned text, with where each part (a message, an entry's text) starts: in the text,
    in its lower-cased form (plain keys) and in its UTF-8 bytes (regex keys)."""

    text: str
    lowered: str
    data: bytes
    starts: tuple[int, ...]
    lowered_starts: tuple[int, ...]
    data_starts: tuple[int, ...]
    labels: tuple[str, ...]
    budget: RegexBudget
    """Shared by the haystacks of one scan: regex keys stop when it is spent."""

    def where(self, offset: int, starts: tuple[int, ...]) -> str:
        return self.labels[max(0, bisect.bisect_right(starts, offset) - 1)]

    def find(self, key: str, rules: KeyRules) -> str | None:
        """The label of the part where `key` first matches, or None. Raises `BadKey`."""
        key = key.strip()
        if not key or not self.labels:
            return None
        regex = _regex_key(key)
        if regex is not None:
            at = regex.find(self.data, self.budget)
            return None if at is None else self.where(at, self.data_starts)
        lowered = not rules.case_sensitive
        text = self.lowered if lowered else self.text
        starts = self.lowered_starts if lowered else self.starts
        needle = key.lower() if lowered else key
        if rules.whole_words and len(needle.split()) == 1:
            found = _whole_word(needle).search(text)
            return None if found is None else self.where(found.start(1), starts)
        at = text.find(needle)
        return None if at < 0 else self.where(at, starts)


def key_problem(key: str) -> str | None:
    """Why `key` cannot be used (an invalid or unsupported regex, or too long), else None."""
    try:
        _regex_key(key.strip())
    except BadKey as exc:
        return str(exc)
    return None


def haystack(parts: Sequence[tuple[str, str]], budget: RegexBudget | None = None) -> Haystack:
    """Join (label, text) parts, newest message first, the way SillyTavern scans them; what
    lies beyond `MAX_SCAN` characters is left out."""
    pieces: list[str] = []
    low_pieces: list[str] = []
    data_pieces: list[bytes] = []
    starts: list[int] = []
    low_starts: list[int] = []
    data_starts: list[int] = []
    at = low_at = data_at = 0
    for index, (_, text) in enumerate(parts):
        if at >= MAX_SCAN:
            break
        head = MARKER if index == 0 else JOINER
        piece = (head + text.strip())[: MAX_SCAN - at]
        low, data = piece.lower(), encode(piece)
        starts.append(at)
        low_starts.append(low_at)
        data_starts.append(data_at)
        pieces.append(piece)
        low_pieces.append(low)
        data_pieces.append(data)
        at += len(piece)
        low_at += len(low)
        data_at += len(data)
    return Haystack(
        "".join(pieces),
        "".join(low_pieces),
        b"".join(data_pieces),
        tuple(starts),
        tuple(low_starts),
        tuple(data_starts),
        tuple(label for label, _ in parts[: len(pieces)]),
        RegexBudget() if budget is None else budget,
    )


def _regex_key(key: str) -> KeyRegex | None:
    """The compiled regex for a `/…/flags` key; None for a plain key, which is literal text.
    Raises `BadKey` (for a key of either kind that is too long: no real key is, and matching
    cost grows with it)."""
    shown = key if len(key) <= 60 else key[:57] + "…"
    if len(key) > MAX_KEY:
        raise BadKey(f"key {shown!r}: {len(key)} characters, longer than {MAX_KEY}")
    slashed = _SLASHED.match(key)
    if slashed is not None and _UNESCAPED_SLASH.search(slashed.group(1)):
        slashed = None
    if slashed is None:
        return None
    try:
        return compile_key(slashed.group(1), slashed.group(2))
    except BadKey as exc:
        raise BadKey(f"key {shown!r}: {exc}") from None


@lru_cache(maxsize=4096)
def _whole_word(needle: str) -> re.Pattern[str]:
    return re.compile(rf"(?:^|\W)({re.escape(needle)})(?:$|\W)")
