"""Summaries of evicted turns: written by the model in the background, rolled up as they grow.

When the window drops old turns (see `budget`), the assembler hands their ids to a `Summariser`,
which asks the model for a third-person recap of the span and stores it with the first and last
message it covers. Summaries live on the chat's message tree: one counts only while both of its
ends lie on the active path, so a branch taken before a summarised span does not inherit it.
When the summaries that make up the "story so far" grow past a token budget, the older ones are
recapped together into a summary one level up (summaries of summaries), which then stands in
for them.

The model is shared with the reply path, which always goes first: the summariser only starts
work while no reply is running, a reply that starts meanwhile cancels it (the span is retried
afterwards), and the engine's KV cache is restored afterwards so the next reply still reuses
the chat's prompt prefix.
"""

from __future__ import annotations

import functools
import queue
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from app.engine.base import Engine, Sampling
from app.errors import Cancelled, LoreweaverError
from app.memory.db import dump_json, load_json
from app.memory.records import StoredMessage
from app.memory.store import ChatStore
from app.prompts.formats import PromptFormat
from app.prompts.messages import Message

T = TypeVar("T")

BUDGET_TOKENS = 400
"""When the summaries in the story so far exceed this many tokens, they are rolled up."""
MESSAGE_CHARS = 1500
"""Longer messages are cut in the transcript the model reads (the recap can't keep it all)."""
BATCH_MESSAGES = 40

_INSTRUCTION = (
    "You write short recaps of role-play conversations. Write in the third person and the "
    "past tense. Keep names, places, items, promises and numbers. Do not continue the story "
    "and do not add anything that did not happen."
)
_SENTENCE_END = re.compile(r"[.!?…][\"”')]?(?=\s|$)")
_LABEL = re.compile(r"^\s*(?:\*\*)?(?:recap|summary)(?:\*\*)?\s*:\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Summary:
    id: int
    chat_id: int
    first_message_id: int
    last_message_id: int
    level: int
    """0: a recap of messages; n + 1: a recap of level-n summaries (and what they covered)."""
    text: str
    tokens: int
    """Model tokens when the summariser wrote it; an estimate (chars / 4) otherwise."""

    def describe(self) -> str:
        """One line for `--explain`."""
        return (
            f"level-{self.level} summary of messages {self.first_message_id}–"
            f"{self.last_message_id} ({self.tokens} tokens)"
        )


def _from_row(row: sqlite3.Row) -> Summary:
    tokens = load_json(row["meta"]).get("tokens")
    return Summary(
        id=row["id"],
        chat_id=row["chat_id"],
        first_message_id=row["first_message_id"],
        last_message_id=row["last_message_id"],
        level=row["level"],
        text=row["content"],
        tokens=tokens if isinstance(tokens, int) else _estimate(row["content"]),
    )


def _estimate(text: str) -> int:
    return len(text) // 4 + 1


def _on_path(
    store: ChatStore, chat_id: int
) -> tuple[dict[int, int], list[tuple[Summary, int, int]]]:
    """The active path (id → depth) and the summaries lying on it, with their depth ranges."""
    depth = {m.id: m.depth for m in store.active_path(chat_id)}
    with store.transaction() as conn:
        rows = conn.execute(
            "SELECT * FROM summaries WHERE chat_id = ? ORDER BY id", (chat_id,)
        ).fetchall()
    found = []
    for row in rows:
        summary = _from_row(row)
        first = depth.get(summary.first_message_id)
        last = depth.get(summary.last_message_id)
        if first is not None and last is not None and first <= last:
            found.append((summary, first, last))
    return depth, found


def pending_span(store: ChatStore, chat_id: int, evicted_ids: Sequence[int]) -> list[int]:
    """The evicted messages no summary covers yet, in path order.

    Ids not on the active path are left out: they are not part of the story being told.
    """
    depth, summaries = _on_path(store, chat_id)
    covered = [(first, last) for _, first, last in summaries]
    pending = {
        i for i in evicted_ids
        if i in depth and not any(a <= depth[i] <= b for a, b in covered)
    }  # fmt: skip
    return sorted(pending, key=depth.__getitem__)


def current_summary(store: ChatStore, chat_id: int) -> list[Summary]:
    """The summaries that together tell the evicted story, oldest first, without overlaps.

    A higher-level (rolled-up) summary stands in for the ones it covers; spans it doesn't
    cover are told by the lower-level summaries still on the path.
    """
    _, summaries = _on_path(store, chat_id)
    summaries.sort(key=lambda s: (-s[0].level, -(s[2] - s[1]), s[1]))
    chosen: list[tuple[Summary, int, int]] = []
    for item in summaries:
        if all(item[2] < first or item[1] > last for _, first, last in chosen):
            chosen.append(item)
    chosen.sort(key=lambda s: s[1])
    return [summary for summary, _, _ in chosen]


def _insert(
    store: ChatStore, chat_id: int, first_id: int, last_id: int, text: str, level: int, tokens: int
) -> Summary:
    with store.transaction() as conn:
        cursor = conn.execute(
            "INSERT INTO summaries (chat_id, level, first_message_id, last_message_id, content, "
            "meta, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (chat_id, level, first_id, last_id, text, dump_json({"tokens": tokens}), time.time()),
        )
        row = conn.execute("SELECT * FROM summaries WHERE id = ?", (cursor.lastrowid,)).fetchone()
    return _from_row(row)


def store_summary(
    store: ChatStore,
    chat_id: int,
    span: Sequence[StoredMessage],
    text: str,
    level: int,
    *,
    tokens: int | None = None,
) -> Summary:
    """Store `text` as the summary of `span` (messages in path order), in one transaction."""
    if not span:
        raise LoreweaverError("a summary needs at least one message to cover")
    if not text.strip():
        raise LoreweaverError("a summary needs some text")
    if level < 0:
        raise LoreweaverError(f"summary level must be 0 or more, not {level}")
    if any(m.chat_id != chat_id for m in span):
        raise LoreweaverError(f"a summarised message is not in chat {chat_id}")
    text = text.strip()
    count = tokens if tokens is not None else _estimate(text)
    return _insert(store, chat_id, span[0].id, span[-1].id, text, level, count)


# -- asking the model -----------------------------------------------------------------------


def _speaker(message: StoredMessage, *, char: str, user: str) -> str:
    if message.name:
        return message.name
    return {"user": user, "assistant": char}.get(message.role, "Narrator")


def _clean(text: str) -> str:
    """The recap without a "Summary:" label, cut back to its last full sentence if it ran out."""
    text = _LABEL.sub("", text.strip()).strip()
    ends = [match.end() for match in _SENTENCE_END.finditer(text)]
    return text[: ends[-1]] if ends else text


def _recap(
    engine: Engine,
    fmt: PromptFormat,
    request: str,
    *,
    max_tokens: int,
    cancel: threading.Event | None,
) -> str:
    prompt = fmt.render([Message("system", _INSTRUCTION), Message("user", request)])
    sampling = Sampling(
        temperature=0.0, top_p=1.0, top_k=1, min_p=0.0, repeat_penalty=1.15, seed=0,
        max_tokens=max_tokens,
    )  # fmt: skip
    generation = engine.generate(prompt, sampling, stop=fmt.stop, cancel=cancel)
    for _ in generation:
        pass
    if generation.stats.finish_reason == "cancelled":
        raise Cancelled("summary cancelled")
    return _clean(generation.text)


def summarise(
    engine: Engine,
    fmt: PromptFormat,
    messages: Sequence[StoredMessage],
    *,
    char: str,
    user: str,
    max_tokens: int = 200,
    previous: str | None = None,
    cancel: threading.Event | None = None,
) -> str:
    """A third-person recap of `messages`, written by the model (greedy, so repeatable).

    `previous` is the recap of what came before, so the model can keep names straight; it is
    context only and not repeated. Raises `Cancelled` if `cancel` was set mid-way.
    """
    lines = []
    for message in messages:
        content = " ".join(message.content.split())
        if len(content) > MESSAGE_CHARS:
            content = content[:MESSAGE_CHARS] + " …"
        lines.append(f"{_speaker(message, char=char, user=user)}: {content}")
    context = f"Earlier: {previous.strip()}\n\n" if previous and previous.strip() else ""
    request = (
        f"{context}Conversation between {user} and {char}:\n"
        + "\n".join(lines)
        + f"\n\nWrite a short recap of what {user} and {char} said and did in this conversation."
    )
    return _recap(engine, fmt, request, max_tokens=max_tokens, cancel=cancel)


def summarise_summaries(
    engine: Engine,
    fmt: PromptFormat,
    summaries: Sequence[Summary],
    *,
    char: str,
    user: str,
    max_tokens: int = 200,
    cancel: threading.Event | None = None,
) -> str:
    """One recap standing for several consecutive ones (a roll-up)."""
    parts = "\n".join(f"- {s.text}" for s in summaries)
    request = (
        f"Recaps of a role-play between {user} and {char}, oldest first:\n{parts}\n\n"
        "Combine them into one shorter recap that keeps the important facts."
    )
    return _recap(engine, fmt, request, max_tokens=max_tokens, cancel=cancel)


def rollup_due(summaries: Sequence[Summary], budget_tokens: int) -> list[Summary]:
    """The summaries to recap together now ([] if the story so far fits `budget_tokens`).

    All but the newest are rolled up (it keeps its detail) unless there are only two.
    """
    if len(summaries) < 2 or sum(s.tokens for s in summaries) <= budget_tokens:
        return []
    return list(summaries[:-1]) if len(summaries) > 2 else list(summaries)


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
    return _insert(
        store,
        chat_id,
        due[0].first_message_id,
        due[-1].last_message_id,
        text,
        max(s.level for s in due) + 1,
        engine.count_tokens(text),
    )


# -- in the background ----------------------------------------------------------------------


class Summariser:
    """Summarises evicted spans on a thread of its own, never while a reply is generating.

    The reply path wraps each generation in `with summariser.replying():`, which waits for the
    model to be free (cancelling a summary in progress; it is retried later) and keeps the
    summariser off it until the reply is done. Failures are kept in `errors` (one line each)
    rather than raised: a missing summary must never break the chat.
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
            except Cancelled:
                pass
            except (LoreweaverError, sqlite3.Error) as exc:
                self.errors.append(f"summary of chat {job[0]} failed: {exc}")
            except Exception as exc:  # a bug; kept visible rather than killing the thread
                self.errors.append(f"summary of chat {job[0]} failed: {exc!r}")
            finally:
                with self._cond:
                    self._pending -= 1
                    self._cond.notify_all()
        with self._cond:
            self._pending = 0
            self._cond.notify_all()

    def _with_model(self, task: Callable[[threading.Event], T]) -> T:
        """Run `task` when no reply needs the model, retrying after a reply cancels it.

        With `keep_cache`, the engine's KV cache is saved before and restored after, so the
        chat's prompt prefix survives (a few tenths of a second, against re-reading the whole
        prompt on the next reply).
        """
        save: Callable[[], Any] | None = getattr(self._engine, "save_state", None)
        load: Callable[[Any], None] | None = getattr(self._engine, "load_state", None)
        if not self._keep_cache:
            save = load = None
        while True:
            with self._cond:
                self._cond.wait_for(lambda: not self._busy or self._closing)
                if self._closing:
                    raise Cancelled("summariser stopped")
                self._cancel = threading.Event()
                self._using = True
            state = None
            try:
                state = save() if save is not None and load is not None else None
                return task(self._cancel)
            except Cancelled:
                self.cancelled += 0 if self._closing else 1
                continue
            finally:
                try:
                    if state is not None and load is not None:
                        load(state)
                finally:
                    with self._cond:
                        self._using = False
                        self._cond.notify_all()

    def _run(self, chat_id: int, ids: tuple[int, ...]) -> None:
        store = self._store
        span = [store.get_message(i) for i in pending_span(store, chat_id, ids)]
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

    def _batches(self, span: Sequence[StoredMessage]) -> Iterator[list[StoredMessage]]:
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
