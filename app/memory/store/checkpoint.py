"""Writing a streaming reply into the store, so a crash loses at most the last moment of text.

The reply row is created (status `streaming`) before the first token; streamed text is saved
whenever `interval_s` (0.5 s) has passed since the last save, each save its own small commit;
the end of the reply writes the full text, the generation's metadata and a final status. If the
process dies in between, the row keeps the last saved prefix and the next `ChatStore` opened on
the home marks it `interrupted`.

Typical use, with the user's message already committed by `store.add_message`:

    with ReplyWriter(store, chat.id, name=sheet.name) as writer:
        for piece in generation:
            show(piece)
            writer.append(piece)
        writer.complete(generation, model=info.path.name, template=fmt.id, sampling=sampling)
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from app.engine.base import Generation, GenerationStats, Sampling
from app.errors import Cancelled, LoreweaverError
from app.memory.store.chat_store import ACTIVE_LEAF, ChatStore, ParentRef
from app.memory.store.records import Status, StoredMessage

FLUSH_INTERVAL_S = 0.5


def reply_meta(
    *,
    model: str | None = None,
    template: str | None = None,
    sampling: Sampling | None = None,
    stats: GenerationStats | None = None,
) -> dict[str, Any]:
    """The per-message record of how a reply was made: enough to explain or reproduce it."""
    meta: dict[str, Any] = {}
    if model is not None:
        meta["model"] = model
    if template is not None:
        meta["template"] = template
    if sampling is not None:
        meta["sampling"] = dataclasses.asdict(sampling)
        meta["seed"] = sampling.seed
    if stats is not None:
        meta.update(
            prompt_tokens=stats.prompt_tokens,
            evaluated_tokens=stats.evaluated_tokens,
            completion_tokens=stats.completion_tokens,
            first_token_s=stats.first_token_s,
            total_s=stats.total_s,
            finish_reason=stats.finish_reason,
        )
    return meta


def status_for(stats: GenerationStats) -> Status:
    if stats.finish_reason == "cancelled":
        return "cancelled"
    if stats.finish_reason == "error":
        return "interrupted"
    return "complete"


class ReplyWriter:
    """One reply being streamed into the store. Not shared between threads."""

    def __init__(
        self,
        store: ChatStore,
        chat_id: int,
        *,
        parent_id: ParentRef = ACTIVE_LEAF,
        name: str | None = None,
        meta: dict[str, Any] | None = None,
        interval_s: float = FLUSH_INTERVAL_S,
        on_flush: Callable[[str], None] | None = None,
        extend: StoredMessage | None = None,
    ) -> None:
        """`parent_id` as in `ChatStore.add_message`: a user message's id makes a swipe.

        `extend`: stream onto that existing reply instead (continue); its saves hold the old
        text plus the new, and its status stays as it was until the end.
        `on_flush(saved_text)` runs after each save (tests and progress displays use it).
        """
        self._store = store
        self._parts: list[str] = []
        self._saved = 0
        self._interval_s = interval_s
        self._on_flush = on_flush
        self.message: StoredMessage
        if extend is not None:
            if extend.chat_id != chat_id:
                raise LoreweaverError(f"message {extend.id} is not in chat {chat_id}")
            self.message = extend
            self._parts = [extend.content]
            self._saved = len(extend.content)
        else:
            self.message = store.add_message(
                chat_id,
                "assistant",
                "",
                parent_id=parent_id,
                name=name,
                meta=meta,
                status="streaming",
            )
        self._last_save = time.monotonic()
        self.status: Status = "streaming"
        self.saves = 0

    @property
    def message_id(self) -> int:
        return self.message.id

    @property
    def text(self) -> str:
        if len(self._parts) > 1:
            self._parts = ["".join(self._parts)]
        return self._parts[0] if self._parts else ""

    def append(self, piece: str) -> bool:
        """Add streamed text; save it if the interval has passed. True when it saved."""
        if self.status != "streaming":
            raise RuntimeError(f"reply {self.message_id} is already {self.status}")
        self._parts.append(piece)
        if time.monotonic() - self._last_save >= self._interval_s:
            self.flush()
            return True
        return False

    def flush(self) -> None:
        """Save the text so far (a no-op when nothing new arrived)."""
        text = self.text
        self._last_save = time.monotonic()
        if len(text) == self._saved:
            return
        self._store.update_reply(self.message_id, text)
        self._saved = len(text)
        self.saves += 1
        if self._on_flush is not None:
            self._on_flush(text)

    def finish(
        self,
        status: Status = "complete",
        *,
        text: str | None = None,
        meta: dict[str, Any] | None = None,
    ) -> StoredMessage:
        """Write the final text (default: everything appended), metadata and status."""
        final = self.text if text is None else text
        self._store.update_reply(self.message_id, final, status=status, meta=meta)
        self.status = status
        self.message = self._store.get_message(self.message_id)
        return self.message

    def complete(
        self,
        generation: Generation,
        *,
        text: str | None = None,
        model: str | None = None,
        template: str | None = None,
        sampling: Sampling | None = None,
        extra: dict[str, Any] | None = None,
    ) -> StoredMessage:
        """Finish from a finished `Generation`: its text, stats and finish reason (`extra`:
        more metadata, such as a structured reply's annotations)."""
        stats = generation.stats
        meta = reply_meta(model=model, template=template, sampling=sampling, stats=stats)
        meta.update(extra or {})
        final = generation.text if text is None else text
        return self.finish(status_for(stats), text=final, meta=meta)

    def __enter__(self) -> ReplyWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Leaving the block settles the row: complete, cancelled (Ctrl-C) or interrupted."""
        if self.status != "streaming":
            return
        if exc_type is None:
            self.finish("complete")
            return
        status: Status = (
            "cancelled" if issubclass(exc_type, KeyboardInterrupt | Cancelled) else "interrupted"
        )
        # If the database is what failed, the row is recovered as interrupted on the next open.
        with contextlib.suppress(LoreweaverError):
            self.finish(status)
