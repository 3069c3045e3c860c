"""Summaries of evicted turns: written by the model in the background, rolled up as they grow.

When the window drops old turns (see `budget`), the assembler hands their ids to a `Summariser`,
which asks the model for a third-person recap of the span (see `recap`) and stores it with the
first and last message it covers (see `store`). When the summaries that make up the
"story so far" grow past a token budget, the older ones are recapped together into a summary one
level up (summaries of summaries), which then stands in for them.

The model is shared with the reply path, which always goes first: the summariser only starts
work while no reply is running, a reply that starts meanwhile cancels it (the span is retried
afterwards), and the engine's KV cache is restored afterwards so the next reply still reuses
the chat's prompt prefix.
"""

from __future__ import annotations

import functools
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

from app.engine.base import Engine
from app.errors import Cancelled, LoreweaverError
from app.memory.store import ChatStore, StoredMessage
from app.memory.summaries.recap import MESSAGE_CHARS, summarise, summarise_summaries
from app.memory.summaries.store import (
    Summary,
    current_summary,
    pending_span,
    rollup_due,
    store_rollup,
    store_summary,
)
from app.prompts.formats import PromptFormat

T = TypeVar("T")

BUDGET_TOKENS = 400
"""When the summaries in the story so far exceed this many tokens, they are rolled up."""
BATCH_MESSAGES = 40
SUMMARY_FAILED = "summary_failed"
"""The chat metadata key holding why its last summary failed (gone once one succeeds): what
`prompt --explain` and the context view show, in any later process."""


def roll_up(
    engine: Engine,
    fmt: PromptFormat,
    store: ChatStore,
    chat_id: int,
    *,
    char: str,
    user: str,
    budget_tokens: int = BUDGET_TOKENS,
    max_tokens: int = 200,
    cancel: threading.Event | None = None,
) -> Summary | None:
    """If the story so far is over budget, recap its older summaries one level up."""
    due = rollup_due(current_summary(store, chat_id), budget_tokens)
    if not due:
        return None
    text = summarise_summaries(
        engine, fmt, due, char=char, user=user, max_tokens=max_tokens, cancel=cancel
    )
    if not text:
        raise LoreweaverError("the model wrote an empty roll-up summary")
    return store_rollup(store, chat_id, due, text, engine.count_tokens(text))


# -- in the background ----------------------------------------------------------------------


class Summariser:
    """Summarises evicted spans on a thread of its own, never while a reply is generating.

    Each reply holds `summariser.replying()` while it generates (the `Reply` owns the hold and
    lets go when it is finished, fails or is dropped): it waits for the model to be free
    (cancelling a summary in progress; it is retried later) and keeps the summariser off it
    until then. Failures are kept in `errors` (one line each)
    rather than raised: a missing summary must never break the chat; each is also handed to
    `on_error` (from the summariser's thread) and kept in the chat's metadata until a summary
    succeeds, so the user is told.
    """

    def __init__(
        self,
        store: ChatStore,
        engine: Engine,
        fmt: PromptFormat,
        *,
        char: str,
        user: str,
        max_tokens: int = 200,
        budget_tokens: int = BUDGET_TOKENS,
        batch_tokens: int | None = None,
        keep_cache: bool = True,
    ) -> None:
        self._store = store
        self._engine = engine
        self._fmt = fmt
        self._char = char
        self._user = user
        self._max_tokens = max_tokens
        self._budget = budget_tokens
        self._batch_tokens = batch_tokens or max(256, engine.n_ctx // 2 - max_tokens)
        self._keep_cache = keep_cache
        self._jobs: queue.SimpleQueue[tuple[int, tuple[int, ...]] | None] = queue.SimpleQueue()
        self._cond = threading.Condition()
        self._pending = 0
        self._busy = 0
        self._using = False
        self._closing = False
        self._cancel = threading.Event()
        self.errors: list[str] = []
        self.on_error: Callable[[str], None] | None = None
        """Told each failure as it happens, on the summariser's thread."""
        self.cancelled = 0
        """How many times a reply cancelled a summary in progress (each was retried)."""
        self.written: list[Summary] = []
        """Every summary this summariser stored, in order (roll-ups included)."""
        self._thread = threading.Thread(target=self._work, name="summariser", daemon=True)
        self._thread.start()

    def submit(self, chat_id: int, ids: Sequence[int]) -> None:
        """Queue evicted message ids for summarising; returns at once."""
        with self._cond:
            if self._closing:
                raise LoreweaverError("the summariser has been stopped")
            self._pending += 1
        self._jobs.put((chat_id, tuple(ids)))

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every submitted span is done; False if `timeout` ran out first."""
        with self._cond:
            return self._cond.wait_for(lambda: self._pending == 0, timeout)

    @contextmanager
    def replying(self) -> Iterator[None]:
        """Hold the model for a reply: background work stops before the block and resumes after."""
        with self._cond:
            self._busy += 1
            if self._using:
                self._cancel.set()
            self._cond.wait_for(lambda: not self._using)
        try:
            yield
        finally:
            with self._cond:
                self._busy -= 1
                self._cond.notify_all()

    @property
    def working(self) -> bool:
        """True while the summariser holds the model."""
        with self._cond:
            return self._using

    def close(self, timeout: float = 30.0) -> None:
        """Stop: a summary in progress is cancelled, queued spans are dropped. Idempotent."""
        with self._cond:
            if self._closing:
                return
            self._closing = True
            self._cancel.set()
            self._cond.notify_all()
        self._jobs.put(None)
        self._thread.join(timeout)

    # -- worker side ------------------------------------------------------------------------

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                if not self._closing:
                    self._run(*job)
                    self._record(job[0], None)
            except Cancelled:
                pass
            except (LoreweaverError, sqlite3.Error) as exc:
                self._failed(job[0], f"summary of chat {job[0]} failed: {exc}")
            except Exception as exc:  # a bug; kept visible rather than killing the thread
                self._failed(job[0], f"summary of chat {job[0]} failed: {exc!r}")
            finally:
                with self._cond:
                    self._pending -= 1
                    self._cond.notify_all()
        with self._cond:
            self._pending = 0
            self._cond.notify_all()

    def _failed(self, chat_id: int, line: str) -> None:
        self.errors.append(line)
        self._record(chat_id, line)
        if self.on_error is not None:
            self.on_error(line)

    def _record(self, chat_id: int, failure: str | None) -> None:
        """Keep (or, None, clear) the chat's last summary failure in its metadata."""
        try:
            if self._store.get_chat(chat_id).meta.get(SUMMARY_FAILED) != failure:
                self._store.update_chat(chat_id, meta={SUMMARY_FAILED: failure})
        except (LoreweaverError, sqlite3.Error):
            pass  # the chat is gone or the disk refuses: `errors` still has it

    def _with_model(self, task: Callable[[threading.Event], T]) -> T:
        """Run `task` when no reply needs the model, retrying after a reply cancels it.

        With `keep_cache`, the engine's KV cache is saved before and restored after, so the
        chat's prompt prefix survives (a few tenths of a second, against re-reading the whole
        prompt on the next reply).
        """
        keep = self._keep_cache and self._engine.keeps_state
        while True:
            with self._cond:
                self._cond.wait_for(lambda: not self._busy or self._closing)
                if self._closing:
                    raise Cancelled("summariser stopped")
                self._cancel = threading.Event()
                self._using = True
            state = None
            try:
                state = self._engine.save_state() if keep else None
                return task(self._cancel)
            except Cancelled:
                self.cancelled += 0 if self._closing else 1
                continue
            finally:
                try:
                    if state is not None:
                        self._engine.load_state(state)
                finally:
                    with self._cond:
                        self._using = False
                        self._cond.notify_all()

    def _run(self, chat_id: int, ids: tuple[int, ...]) -> None:
        store = self._store
        # read a batch at a time: a long chat's evicted span is never held whole
        span = (store.get_message(i) for i in pending_span(store, chat_id, ids))
        for batch in self._batches(span):
            story = current_summary(store, chat_id)
            text = self._with_model(
                functools.partial(self._summarise_batch, batch, story[-1].text if story else None)
            )
            if not text:
                raise LoreweaverError(
                    f"the model wrote an empty summary for messages {batch[0].id}–{batch[-1].id}"
                )
            tokens = self._engine.count_tokens(text)
            self.written.append(store_summary(store, chat_id, batch, text, 0, tokens=tokens))
            while rollup_due(current_summary(store, chat_id), self._budget):
                rolled = self._with_model(
                    lambda cancel: roll_up(
                        self._engine, self._fmt, store, chat_id, char=self._char,
                        user=self._user, budget_tokens=self._budget,
                        max_tokens=self._max_tokens, cancel=cancel,
                    )
                )  # fmt: skip
                if rolled is None:
                    break
                self.written.append(rolled)

    def _summarise_batch(
        self, batch: Sequence[StoredMessage], previous: str | None, cancel: threading.Event
    ) -> str:
        return summarise(
            self._engine, self._fmt, batch, char=self._char, user=self._user,
            max_tokens=self._max_tokens, previous=previous, cancel=cancel,
        )  # fmt: skip

    def _batches(self, span: Iterable[StoredMessage]) -> Iterator[list[StoredMessage]]:
        """Consecutive groups small enough for one prompt (estimated at 3 chars a token)."""
        batch: list[StoredMessage] = []
        size = 0
        for message in span:
            cost = min(len(message.content), MESSAGE_CHARS) // 3 + 8
            if batch and (size + cost > self._batch_tokens or len(batch) >= BATCH_MESSAGES):
                yield batch
                batch, size = [], 0
            batch.append(message)
            size += cost
        if batch:
            yield batch
