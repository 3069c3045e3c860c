"""One KV cache line per speaker of a group scene.

Each NPC's prompt opens with its own persona, so the prompts of two speakers share almost no
prefix: with one cache, every speaker switch would re-read the whole history. The engine's
cache is taken when a speaker's turn ends and handed back at its next turn, so each turn
evaluates only what came since that speaker last spoke. Engines without `take_line` (a remote
server) simply keep their own cache.
"""

from __future__ import annotations

from typing import Any, Literal

from app.engine.base import Engine

Mode = Literal["lines", "reset", "shared"]
"""`lines`: a cache line per speaker; `reset`: the cache is dropped at every switch (the bench's
baseline); `shared`: one cache for all (what a plain chat does)."""


class SpeakerLines:
    def __init__(self, engine: Engine, mode: Mode = "lines") -> None:
        self.engine = engine
        self.mode = mode
        self._take = getattr(engine, "take_line", None)
        self._put = getattr(engine, "put_line", None)
        self._saved: dict[str, Any] = {}
        self.current: str | None = None

    def switch(self, speaker: str) -> None:
        """Make the engine's cache `speaker`'s line before its turn."""
        if speaker == self.current:
            return
        previous, self.current = self.current, speaker
        if self.mode == "reset":
            reset = getattr(self.engine, "reset_cache", None)
            if reset is not None:
                reset()
            return
        if self.mode != "lines" or self._take is None or self._put is None:
            return
        if previous is not None:
            self._saved[previous] = self._take()
        line = self._saved.pop(speaker, None)
        if line is not None:
            self._put(line)  # a line that does not fit leaves an empty cache: a re-read
        # a speaker's first turn starts from the previous speaker's cache (the format's opening)

    def forget(self) -> None:
        """Drop every kept line (the history they were read from changed)."""
        self._saved.clear()
