"""Key matching for lorebook entries, with SillyTavern's world-info rules.

The scanned text is built the way SillyTavern builds it: the newest message first, each one
trimmed and prefixed with a `\\x01` marker, then the text of entries activated so far (recursion).
A key matches when:
- it is a regex (`/pattern/flags`, or any key of an entry with `use_regex`): the regex finds it;
  regex keys ignore the case and whole-word settings and carry their own flags;
- otherwise, as a substring, lower-cased on both sides unless the entry is case-sensitive;
  with "match whole words", a one-word key must be bounded by a non-word character or an end
  (`\\x01` counts, so a key never straddles two messages); a key of several words stays a substring.

Deliberate differences from SillyTavern's JavaScript: `\\W` is Unicode-aware (so "naïve" does not
contain the whole word "na"), every escaped `\\/` is unescaped (ST unescapes only the first), and
regexes with a nested quantifier such as `(a+)+`, which can backtrack for minutes, are refused.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

MARKER = "\x01"
JOINER = "\n" + MARKER
MAX_KEY = 1000
"""Longer keys are refused: no real key is that long, and regex cost grows with it."""

_SLASHED = re.compile(r"^/([\s\S]+?)/([gimsuy]*)$")
_UNESCAPED_SLASH = re.compile(r"(^|[^\\])/")
_NESTED_QUANTIFIER = re.compile(r"\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)(?:[+*]|\{\d*,)")
_JS_NAMED_GROUP = re.compile(r"\(\?<(?![=!])")
_JS_BACKREF = re.compile(r"\\k<([A-Za-z_]\w*)>")
_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL}


class BadKey(Exception):
    """A regex key that cannot be used; the message says why (for `--explain`)."""


class RefusedKey(BadKey):
    """A valid regex we will not run; reported even where an invalid one would be plain text."""


@dataclass(frozen=True)
class KeyRules:
    case_sensitive: bool = False
    whole_words: bool = False
    use_regex: bool = False


@dataclass(frozen=True)
class Haystack:
    """The scanned text, with where each part (a message, an entry's text) starts."""

    text: str
    lowered: str
    starts: tuple[int, ...]
    lowered_starts: tuple[int, ...]
    labels: tuple[str, ...]

    def where(self, offset: int, *, lowered: bool) -> str:
        starts = self.lowered_starts if lowered else self.starts
        return self.labels[max(0, bisect.bisect_right(starts, offset) - 1)]

    def find(self, key: str, rules: KeyRules) -> str | None:
        """The label of the part where `key` first matches, or None. Raises `BadKey`."""
        key = key.strip()
        if not key or not self.labels:
            return None
        if len(key) > MAX_KEY:
            raise BadKey(f"key of {len(key)} characters is longer than {MAX_KEY}")
        pattern = _regex_key(key, rules)
        if pattern is not None:
            found = pattern.search(self.text)
            return None if found is None else self.where(found.start(), lowered=False)
        lowered = not rules.case_sensitive
        text = self.lowered if lowered else self.text
        needle = key.lower() if lowered else key
        if rules.whole_words and len(needle.split()) == 1:
            found = _whole_word(needle).search(text)
            return None if found is None else self.where(found.start(1), lowered=lowered)
        at = text.find(needle)
        return None if at < 0 else self.where(at, lowered=lowered)


def haystack(parts: Sequence[tuple[str, str]]) -> Haystack:
    """Join (label, text) parts, newest message first, the way SillyTavern scans them."""
    pieces: list[str] = []
    low_pieces: list[str] = []
    starts: list[int] = []
    low_starts: list[int] = []
    at = low_at = 0
    for index, (_, text) in enumerate(parts):
        head = MARKER if index == 0 else JOINER
        piece, low = head + text.strip(), head + text.strip().lower()
        starts.append(at)
        low_starts.append(low_at)
        pieces.append(piece)
        low_pieces.append(low)
        at += len(piece)
        low_at += len(low)
    return Haystack("".join(pieces), "".join(low_pieces), tuple(starts), tuple(low_starts),
                    tuple(label for label, _ in parts))


def _regex_key(key: str, rules: KeyRules) -> re.Pattern[str] | None:
    """The compiled regex for a regex key; None for a plain key."""
    slashed = _SLASHED.match(key)
    if slashed is not None and not _UNESCAPED_SLASH.search(slashed.group(1)):
        flags = 0
        for letter in slashed.group(2):
            flags |= _FLAGS.get(letter, 0)
        try:
            return _compile(slashed.group(1).replace("\\/", "/"), flags)
        except RefusedKey:
            raise
        except BadKey:
            if rules.use_regex:
                raise
            return None  # SillyTavern: a `/…/` key that does not compile is plain text
    if not rules.use_regex:
        return None
    return _compile(key, 0 if rules.case_sensitive else re.IGNORECASE)


@lru_cache(maxsize=4096)
def _compile(pattern: str, flags: int) -> re.Pattern[str]:
    if _NESTED_QUANTIFIER.search(pattern):
        raise RefusedKey(f"regex /{pattern}/ refused: a nested quantifier can take minutes to run")
    pattern = _JS_BACKREF.sub(r"(?P=\1)", _JS_NAMED_GROUP.sub("(?P<", pattern))
    try:
        return re.compile(pattern, flags)
    except re.error as exc:
        raise BadKey(f"regex /{pattern}/ is invalid: {exc}") from None


@lru_cache(maxsize=4096)
def _whole_word(needle: str) -> re.Pattern[str]:
    return re.compile(rf"(?:^|\W)({re.escape(needle)})(?:$|\W)")
