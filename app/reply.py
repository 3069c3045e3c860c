"""A reply streaming in from the model: its text as it comes, and how it is kept once done.

It knows nothing of the session that started it: the session hands it a `keep` callback that
stores the finished text, and a hold (the summariser's) that the reply owns and releases once it
is finished, fails, or is dropped unfinished, so background work is never blocked for good.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from contextlib import ExitStack

from app.engine.base import Generation, GenerationStats
from app.memory.store import ReplyWriter


class Reply:
    """A reply streaming in: iterate it for text, `cancel()` from anywhere, then `finish()`."""

    def __init__(
        self,
        generation: Generation,
        writer: ReplyWriter | None,
        keep: Callable[[str], None],
        *,
        speaker: str,
        prefix: str = "",
        hold: ExitStack | None = None,
    ) -> None:
        """`keep`: called once with the finished text (the session stores it); `speaker`: the
        name a model may write before the reply (dropped); `prefix`: the text a continued
        reply already had (the new text is appended to it); `hold`: released when the reply is
        finished, fails or is garbage-collected (it keeps background work off the model)."""
        self.generation = generation
        self.writer = writer
        self.prefix = prefix
        self.finished = False
        self._keep = keep
        self._speaker = speaker
        self._hold = hold if hold is not None else ExitStack()
        self._released = weakref.finalize(self, self._hold.close)
        self._shown: list[str] = []
        self._pieces: Iterator[str] | None = None

    @property
    def holding(self) -> bool:
        """True until the hold is released."""
        return self._released.alive

    def release(self) -> None:
        """Let background work have the model again (idempotent; `finish` does it)."""
        self._released()

    def __iter__(self) -> Iterator[str]:
        return self._read(lambda: iter(self.generation))

    def frames(self, period: float) -> Iterator[str]:
        """The text in batches, one per `period` at most (see `Generation.batches`): what a
        screen draws, read without waking for every token."""
        return self._read(lambda: self.generation.batches(period))

    def prompt_progress(self, period: float) -> Iterator[tuple[int, int]]:
        """`(evaluated, total)` prompt tokens while the prompt is evaluated, once per `period`
        at most, until the text can come (see `Generation.prompt_progress`)."""
        return self.generation.prompt_progress(period)

    def _read(self, source: Callable[[], Iterator[str]]) -> Iterator[str]:
        """The pieces from `source` (opened on first use; later reads continue it), minus a
        speaker label, each written to the store as it comes. A failure releases the hold (a
        reader that merely stops reading keeps it: `finish` drains the rest)."""
        try:
            if self._pieces is None:
                self._pieces = source()
                if not self.prefix:
                    self._pieces = without_speaker(self._pieces, self._speaker)
            for piece in self._pieces:
                if self.writer is not None:
                    self.writer.append(piece)
                self._shown.append(piece)
                yield piece
        except GeneratorExit:
            raise
        except BaseException:
            self.release()
            raise

    def cancel(self) -> None:
        self.generation.cancel()

    @property
    def text(self) -> str:
        """What the reply has said so far (without a leading "Name:" the model wrote)."""
        return "".join(self._shown)

    @property
    def stats(self) -> GenerationStats:
        return self.generation.stats

    def finish(self) -> str:
        """Keep the reply (a stopped one keeps what was produced) through `keep`, once."""
        if self.finished:
            return (self.prefix + self.text).strip()
        self.finished = True
        try:
            for _ in self:  # drain whatever is left (after a cancel)
                pass
        finally:
            self.release()
        reply = (self.prefix + self.text).strip()
        self._keep(reply)
        return reply


def without_speaker(pieces: Iterator[str], name: str) -> Iterator[str]:
    """The pieces, minus a leading "Name:" the model wrote before its reply (small models often
    do): the opening is held back only until it can no longer be that label."""
    label = f"{name}:"
    held = ""
    for piece in pieces:
        held += piece
        opening = held.lstrip()
        if label.startswith(opening):
            continue  # still possibly the label: wait for more
        if opening.startswith(label):
            held = opening[len(label) :].lstrip(" ")
        if held:
            yield held
        break
    else:
        if held.strip() and held.lstrip() != label:
            yield held
        return
    yield from pieces
