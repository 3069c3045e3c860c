"""Exact and near-duplicate detection for short lines (barks).

Texts are compared normalised (accents, case, punctuation and spacing ignored); two are near
duplicates when the Jaccard similarity of their character trigram sets reaches `threshold`.
An inverted index from trigram to the kept texts means a candidate is compared only with texts
it shares trigrams with, at a cost bounded by its length times the texts kept, never by all
pairs of the whole set.
"""

from __future__ import annotations

import unicodedata
from collections import Counter

NEAR = 0.6
"""Trigram Jaccard similarity from which two lines count as the same bark."""


def normalise(text: str) -> str:
    """Lower case, no accents, letters and digits only, single spaces."""
    plain = unicodedata.normalize("NFKD", text)
    kept = "".join(
        c if c.isalnum() else " " for c in plain.casefold() if not unicodedata.combining(c)
    )
    return " ".join(kept.split())


def trigrams(text: str) -> set[str]:
    padded = f" {text} "
    return {padded[i : i + 3] for i in range(max(1, len(padded) - 2))}


def similarity(a: str, b: str) -> float:
    """Trigram Jaccard similarity of two texts, normalised first (1.0: the same)."""
    ga, gb = trigrams(normalise(a)), trigrams(normalise(b))
    return len(ga & gb) / len(ga | gb) if ga | gb else 1.0


class DistinctLines:
    """Keeps lines that are neither exact nor near duplicates of one already kept."""

    def __init__(self, threshold: float = NEAR) -> None:
        self.threshold = threshold
        self.lines: list[str] = []
        self._exact: set[str] = set()
        self._sizes: list[int] = []
        self._postings: dict[str, list[int]] = {}

    def duplicate_of(self, text: str) -> str | None:
        """The kept line `text` duplicates, if any."""
        key = normalise(text)
        if not key:
            return ""
        if key in self._exact:
            return next(line for line in self.lines if normalise(line) == key)
        grams = trigrams(key)
        shared = Counter(i for g in grams for i in self._postings.get(g, ()))
        for index, common in shared.items():
            if common / (len(grams) + self._sizes[index] - common) >= self.threshold:
                return self.lines[index]
        return None

    def add(self, text: str) -> bool:
        """Keep `text` unless it duplicates a kept line; True when kept."""
        if self.duplicate_of(text) is not None:
            return False
        key = normalise(text)
        grams = trigrams(key)
        index = len(self.lines)
        self.lines.append(text)
        self._exact.add(key)
        self._sizes.append(len(grams))
        for gram in grams:
            self._postings.setdefault(gram, []).append(index)
        return True
