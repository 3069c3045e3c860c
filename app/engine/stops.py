"""Stop strings over a stream of text pieces.

Text that could still turn out to be the start of a stop string is held back until the next
piece decides it, so a stop string split across tokens is never shown, even in part.
"""

from __future__ import annotations

from collections.abc import Sequence


class StopMatcher:
    def __init__(self, stops: Sequence[str]) -> None:
        self.stops = [s for s in dict.fromkeys(stops) if s]
        self._longest = max((len(s) for s in self.stops), default=0)
        self._held = ""
        self.stopped_by: str | None = None

    def feed(self, piece: str) -> str:
        """Return the text that is safe to show; after a stop, nothing more is returned."""
        if self.stopped_by is not None:
            return ""
        text = self._held + piece
        first: tuple[int, str] | None = None
        for stop in self.stops:
            index = text.find(stop)
            if index != -1 and (first is None or index < first[0]):
                first = (index, stop)
        if first is not None:
            self.stopped_by = first[1]
            self._held = ""
            return text[: first[0]]
        keep = self._pending_prefix(text)
        self._held = text[len(text) - keep :] if keep else ""
        return text[: len(text) - keep]

    def flush(self) -> str:
        """At the end of the reply, held-back text was not a stop after all."""
        held, self._held = self._held, ""
        return "" if self.stopped_by is not None else held

    def _pending_prefix(self, text: str) -> int:
        """Length of the longest suffix of `text` that is a proper prefix of some stop string."""
        for size in range(min(len(text), self._longest - 1), 0, -1):
            tail = text[-size:]
            if any(stop.startswith(tail) for stop in self.stops):
                return size
        return 0
