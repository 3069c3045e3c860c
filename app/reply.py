"""A reply streaming in from the model: its text as it comes, and how it is kept once done."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from app.engine.base import Generation, GenerationStats, Sampling
from app.memory.checkpoint import ReplyWriter
from app.npc.structured import reply_annotations
from app.prompts.messages import Message

if TYPE_CHECKING:
    from app.session import ChatSession


class Reply:
    """A reply streaming in: iterate it for text, `cancel()` from anywhere, then `finish()`."""

    def __init__(
        self,
        session: ChatSession,
        generation: Generation,
        writer: ReplyWriter | None,
        sampling: Sampling,
        *,
        prefix: str = "",
        hold: AbstractContextManager[None] | None = None,
    ) -> None:
        """`prefix`: the text a continued reply already had (the new text is appended to it);
        `hold`: released when the reply is finished (it keeps background work off the model)."""
        self.hold = hold
        self.session = session
        self.generation = generation
        self.writer = writer
        self.sampling = sampling
        self.prefix = prefix
        self.finished = False
        self._shown: list[str] = []
        self._pieces: Iterator[str] | None = None

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
        speaker label, each written to the store as it comes."""
        if self._pieces is None:
            self._pieces = source()
            if not self.prefix:
                self._pieces = without_speaker(self._pieces, self.session.sheet.name)
        for piece in self._pieces:
            if self.writer is not None:
                self.writer.append(piece)
            self._shown.append(piece)
            yield piece

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
        """Keep the reply (a stopped one keeps what was produced) in the history and store."""
        if self.finished:
            return (self.prefix + self.text).strip()
        self.finished = True
        try:
            for _ in self:  # drain whatever is left (after a cancel)
                pass
        finally:
            if self.hold is not None:
                self.hold.__exit__(None, None, None)
                self.hold = None
        reply = (self.prefix + self.text).strip()
        session = self.session
        if self.writer is not None:
            self.writer.complete(
                self.generation,
                text=reply,
                model=session.model_name,
                template=session.fmt.id,
                sampling=self.sampling,
                extra=reply_annotations(self.generation),
            )
            session.reload()
        elif reply:
            session.history = [*session.history, Message("assistant", reply)]
        session.after_reply()
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
