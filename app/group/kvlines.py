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

Adapters: a speaker with its own LoRA set (`adapters_for`) has its line computed under that
set, so the set is applied after the previous speaker's line is taken and before the next one
is put, and a line is written to its file under its own set (the file's identity includes it).
Switching sets swaps pointers on the live context (`Engine.use_adapters`), never the model;
when nobody has adapters, nothing changes and the cache work is the same.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from app.engine.adapters import Adapter
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
        adapters_for: Callable[[str], Sequence[Adapter]] = lambda speaker: (),
    ) -> None:
        self.engine = engine
        self.mode = mode
        self.limit = max(limit, 0)
        self.path_for = path_for
        """Where a speaker's line is saved (None: nowhere, a line pushed out is dropped)."""
        self.adapters_for = adapters_for
        """The LoRA set a speaker speaks with: its line is computed, kept and saved under it."""
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

    def _use(self, speaker: str) -> None:
        """Apply `speaker`'s adapters; a change forgets the cache (`Engine.use_adapters`), so
        the cache only ever holds what was computed under the set applied."""
        self.engine.use_adapters(self.adapters_for(speaker))

    def switch(self, speaker: str, prompt: str | None = None) -> None:
        """Make the engine's set and cache `speaker`'s before its turn; `prompt` (its next
        prompt) lets a line saved in a file be loaded only when it serves it better than the
        cache."""
        if speaker == self.current:
            self._use(speaker)  # someone else may have used the engine since (a no-op if not)
            return
        previous, self.current = self.current, speaker
        if self.mode == "reset":
            reset = getattr(self.engine, "reset_cache", None)
            if reset is not None:
                reset()
        if not self._keeps:
            self._use(speaker)
            return
        assert self._take is not None and self._put is not None
        if previous is not None and self._holds_set_of(previous):
            self._saved[previous] = self._take()  # under previous's set, before any change
            self._saved.move_to_end(previous)
        line = self._saved.pop(speaker, None)
        spilled = self._push_out()
        self._use(speaker)
        if line is not None:
            self._put(line)  # a line that does not fit leaves an empty cache: a re-read
            return
        kept = self._saved.get(previous) if previous is not None else None
        if spilled and kept is not None and self._same_set(previous, speaker):
            self._put(kept)  # writing lines out left another one in the cache
        path = self.path_for(speaker) if self.path_for is not None else None
        if path is not None and path.is_file():
            self.engine.load_state_file(path, prompt)
        # else a first turn starts from the previous speaker's cache (the format's opening)
        # when both speak with the same set; under another set the cache was forgotten

    def _same_set(self, speaker: str | None, other: str) -> bool:
        """Whether a cache computed for `speaker` is valid for `other` (the same adapters)."""
        return speaker is not None and tuple(self.adapters_for(speaker)) == tuple(
            self.adapters_for(other)
        )

    def _holds_set_of(self, speaker: str) -> bool:
        """Whether the engine still has `speaker`'s set: if a caller outside the scene applied
        another since, the cache is not `speaker`'s line (a re-read, never a wrong line)."""
        return tuple(self.engine.adapters) == tuple(self.adapters_for(speaker))

    def _push_out(self) -> bool:
        """Past the limit, the least recently used lines go to their files (or are dropped);
        whether that changed the engine's cache."""
        spilled = False
        while len(self._saved) > self.limit:
            speaker, line = self._saved.popitem(last=False)
            spilled = self._write(speaker, line) or spilled
        return spilled

    def _write(self, speaker: str, line: Any) -> bool:
        """Save `line` to `speaker`'s file through the engine's cache, under `speaker`'s set
        (the file's identity includes it); whether the cache changed."""
        path = self.path_for(speaker) if self.path_for is not None else None
        if path is None or self._put is None:
            return False
        try:
            self._use(speaker)
        except LoreweaverError:  # its set cannot be applied now (a file gone): not saved
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
        The live line is written last, so the engine ends with its speaker's set and line."""
        if not self._keeps or self.path_for is None:
            return
        assert self._take is not None
        current = self.current
        if current is not None:
            self._saved[current] = self._take()
            self._saved.move_to_end(current)
        for speaker, line in list(self._saved.items()):
            self._write(speaker, line)
        self._saved.clear()
        self.current = None

    def forget(self) -> None:
        """Drop every kept line (the history they were read from changed)."""
        self._saved.clear()
