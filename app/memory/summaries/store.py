"""Stored summaries: the `Summary` record, its rows, and which ones tell the story so far.

Summaries live on the chat's message tree: one counts only while both of its ends lie on the
active path, so a branch taken before a summarised span does not inherit it.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass

from app.errors import LoreweaverError
from app.memory.store import ChatStore, StoredMessage, dump_json, load_json, on_path, up_cte


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


def _on_path(store: ChatStore, chat_id: int) -> list[tuple[Summary, int, int]]:
    """The summaries lying on the active path, with their depth ranges (read in SQL: a long
    path is never loaded for this)."""
    with store.reading() as conn:
        leaf = store.get_chat(chat_id).active_leaf_id
        if leaf is None:
            return []
        rows = conn.execute(
            up_cte()
            + """
            SELECT s.*, f.depth AS first_depth, l.depth AS last_depth FROM summaries s
            JOIN messages f ON f.id = s.first_message_id
            JOIN messages l ON l.id = s.last_message_id
            WHERE s.chat_id = ? AND f.id IN (SELECT id FROM up) AND l.id IN (SELECT id FROM up)
              AND f.depth <= l.depth
            ORDER BY s.id
            """,
            (leaf, chat_id),
        ).fetchall()
    return [(_from_row(row), row["first_depth"], row["last_depth"]) for row in rows]


def pending_span(store: ChatStore, chat_id: int, evicted_ids: Sequence[int]) -> list[int]:
    """The evicted messages no summary covers yet, in path order.

    Ids not on the active path are left out: they are not part of the story being told.
    """
    covered = [(first, last) for _, first, last in _on_path(store, chat_id)]
    with store.reading() as conn:
        depth = on_path(conn, store.get_chat(chat_id).active_leaf_id, evicted_ids)
    pending = {
        i for i, d in depth.items() if not any(a <= d <= b for a, b in covered)
    }  # fmt: skip
    return sorted(pending, key=depth.__getitem__)


def current_summary(store: ChatStore, chat_id: int) -> list[Summary]:
    """The summaries that together tell the evicted story, oldest first, without overlaps.

    A higher-level (rolled-up) summary stands in for the ones it covers; spans it doesn't
    cover are told by the lower-level summaries still on the path.
    """
    summaries = _on_path(store, chat_id)
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


def rollup_due(summaries: Sequence[Summary], budget_tokens: int) -> list[Summary]:
    """The summaries to recap together now ([] if the story so far fits `budget_tokens`).

    All but the newest are rolled up (it keeps its detail) unless there are only two.
    """
    if len(summaries) < 2 or sum(s.tokens for s in summaries) <= budget_tokens:
        return []
    return list(summaries[:-1]) if len(summaries) > 2 else list(summaries)


def store_rollup(
    store: ChatStore, chat_id: int, due: Sequence[Summary], text: str, tokens: int
) -> Summary:
    """Store `text` as the recap of `due` (consecutive summaries), one level above the highest."""
    return _insert(
        store,
        chat_id,
        due[0].first_message_id,
        due[-1].last_message_id,
        text,
        max(s.level for s in due) + 1,
        tokens,
    )
