"""Stop strings over a stream of text pieces.

Text from the point where a stop string could still begin is held back until later pieces
decide, so a stop split across tokens is never shown, even in part, and the reply ends at the
stop that starts earliest whatever the token boundaries were.
"""

from __future__ import annotations

import codecs
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
        hit = self._earliest(text)
        undecided = len(text) - self._pending_suffix(text)
        if hit is not None and hit[0] <= undecided:
            self.stopped_by = hit[1]
            self._held = ""
            return text[: hit[0]]
        # a stop may still start before the one found: wait for the next piece to tell
        self._held = text[undecided:]
        return text[:undecided]

    def flush(self) -> str:
        """At the end of the reply: the held-back text, up to a stop it completes, if any."""
        if self.stopped_by is not None:
            return ""
        held, self._held = self._held, ""
        hit = self._earliest(held)
        if hit is None:
            return held
        self.stopped_by = hit[1]
        return held[: hit[0]]

    def _earliest(self, text: str) -> tuple[int, str] | None:
        first: tuple[int, str] | None = None
        for stop in self.stops:
            index = text.find(stop)
            if index != -1 and (first is None or index < first[0]):
                first = (index, stop)
        return first

    def _pending_suffix(self, text: str) -> int:
        """Length of the longest suffix of `text` that a stop string starts with (shorter
        than the longest stop): text that may still grow into a stop."""
        for size in range(min(len(text), self._longest - 1), 0, -1):
            tail = text[-size:]
            if any(stop.startswith(tail) for stop in self.stops):
                return size
        return 0


class TextOut:
    """A reply's token bytes as the text to show: UTF-8 decoded across token boundaries (a
    character split between tokens waits for its end), stop strings held back (`StopMatcher`)."""

    def __init__(self, stops: Sequence[str]) -> None:
        self._matcher = StopMatcher(stops)
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    @property
    def stopped_by(self) -> str | None:
        return self._matcher.stopped_by

    def feed(self, data: bytes) -> str:
        return self._matcher.feed(self._decoder.decode(data))

    def finish(self) -> str:
        """At the end of the reply: what was held back, up to a stop it completes."""
        return self._matcher.feed(self._decoder.decode(b"", final=True)) + self._matcher.flush()
