"""One KV cache line per speaker of a group scene.

Each NPC's prompt opens with its own persona, so the prompts of two speakers share almost no
prefix: with one cache, every speaker switch would re-read the whole history. The engine's
cache is taken when a speaker's turn ends and handed back at its next turn, so each turn
evaluates only what came since that speaker last spoke. Engines without `take_line` (a remote
server) simply keep their own cache.

Memory bound: besides the engine's live cache, at most `limit` lines are held in memory
(`MAX_HELD_LINES` by default), least recently used first out. A line is the speaker's whole
evaluated prompt (about 23 KB per token for the bundled 135M model, ~130 KB for a 4B one), so
8 NPCs at 4k tokens on a 4B model would otherwise hold ~4 GB. With a place to save them
(`path_for`), lines pushed out and, on `save`, all lines go to state files; a speaker whose line
is not in memory gets it back from its file (a resumed scene reads no prompt whole again).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from app.engine.base import Engine
from app.errors import LoreweaverError

Mode = Literal["lines", "reset", "shared"]
"""`lines`: a cache line per speaker; `reset`: the cache is dropped at every switch (the bench's
baseline); `shared`: one cache for all (what a plain chat does)."""

MAX_HELD_LINES = 4
"""Lines held in memory besides the live cache: a scene of up to 5 NPCs never re-reads."""


class SpeakerLines:
    def __init__(
        self,
        engine: Engine,
        mode: Mode = "lines",
        *,
        limit: int = MAX_HELD_LINES,
        path_for: Callable[[str], Path | None] | None = None,
    ) -> None:
        self.engine = engine
        self.mode = mode
        self.limit = max(limit, 0)
        self.path_for = path_for
        """Where a speaker's line is saved (None: nowhere, a line pushed out is dropped)."""
        self._take = getattr(engine, "take_line", None)
        self._put = getattr(engine, "put_line", None)
        self._saved: OrderedDict[str, Any] = OrderedDict()
        self.current: str | None = None

    @property
    def held(self) -> list[str]:
        """The speakers whose lines are in memory, least recently used first."""
        return list(self._saved)

    @property
    def _keeps(self) -> bool:
        return self.mode == "lines" and self._take is not None and self._put is not None

    def switch(self, speaker: str, prompt: str | None = None) -> None:
        """Make the engine's cache `speaker`'s line before its turn; `prompt` (its next prompt)
        lets a line saved in a file be loaded only when it serves it better than the cache."""
        if speaker == self.current:
            return
        previous, self.current = self.current, speaker
        if self.mode == "reset":
            reset = getattr(self.engine, "reset_cache", None)
            if reset is not None:
                reset()
            return
        if not self._keeps:
            return
        assert self._take is not None and self._put is not None
        if previous is not None:
            self._saved[previous] = self._take()
            self._saved.move_to_end(previous)
        line = self._saved.pop(speaker, None)
        self._push_out(keep=previous if line is None else None)
        if line is not None:
            self._put(line)  # a line that does not fit leaves an empty cache: a re-read
            return
        path = self.path_for(speaker) if self.path_for is not None else None
        if path is not None and path.is_file():
            self.engine.load_state_file(path, prompt)
        # else a first turn starts from the previous speaker's cache (the format's opening)

    def _push_out(self, keep: str | None) -> None:
        """Past the limit, the least recently used lines go to their files (or are dropped);
        the engine's cache is left holding `keep`'s line."""
        spilled = False
        while len(self._saved) > self.limit:
            speaker, line = self._saved.popitem(last=False)
            spilled = self._write(speaker, line) or spilled
        if spilled and keep is not None and keep in self._saved:
            assert self._put is not None
            self._put(self._saved[keep])

    def _write(self, speaker: str, line: Any) -> bool:
        """Save `line` to `speaker`'s file through the engine's cache; whether the cache changed."""
        path = self.path_for(speaker) if self.path_for is not None else None
        if path is None or self._put is None:
            return False
        if not self._put(line):
            return True
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.engine.save_state_file(path)
        except (OSError, LoreweaverError):
            pass  # a line not saved costs a re-read later, nothing else
        return True

    def save(self) -> None:
        """Write every line (the live one too) to its file, for the next time the scene opens.
        The engine's cache is left holding one of them."""
        if not self._keeps or self.path_for is None:
            return
        assert self._take is not None
        if self.current is not None:
            self._saved[self.current] = self._take()
        for speaker, line in list(self._saved.items()):
            self._write(speaker, line)
        self._saved.clear()
        self.current = None

    def forget(self) -> None:
        """Drop every kept line (the history they were read from changed)."""
        self._saved.clear()
