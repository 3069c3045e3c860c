"""Recall: older messages relevant to the current turn, as in the Generative Agents memory stream.

Each candidate is scored on three parts, each normalised to [0, 1] and weighted:
- relevance: SQLite FTS5 BM25 of the message against the user's words, min-max scaled over
  the candidates as in Generative Agents (best match 1, weakest 0; all 1 if they tie). BM25
  alone is lenient — one shared word in a short line scores two thirds of a full match — so
  without the scaling a recent passing mention outranks the old message that answers;
- recency: exponential decay by turn distance, 0.5 ** (turns ago / half-life);
- importance: the stored rating if one was set, else the heuristic in `importance`.

Only messages on the chat's active path count (a discarded swipe or another branch never
happened in this story), and never those the prompt already holds (`exclude_ids`). Candidates
are the top BM25 matches only, and only those at least `MIN_BM25` strong: a message that shares
no telling word with the turn is never recalled, however recent or important.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace

from app.memory.recall.importance import importance_of
from app.memory.store import ChatStore, StoredMessage, heals_search_index, tree, up_cte

MIN_BM25 = 0.25
"""Weaker matches are not recalled: they share only words most of the chat uses (FTS5 gives
such words an inverse document frequency near zero), so they say nothing about relevance and
would only lengthen every turn's prompt."""
CANDIDATES = 50
"""How many BM25 matches are re-ranked; the rest are too weak to win on recency alone."""
RECALL_CHARS = 2000
"""A recalled message longer than this is cut (with " …"): recall adds notes, not whole pages."""
MAX_TERMS = 32
MAX_QUERY_CHARS = 4000

_STOP_WORDS_TEXT = """
    a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further
    had has have having he her here hers herself him himself his how i if in into is it its
    itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself yourselves
    yes ok okay oh ah um uh hm hmm well let lets like get got go going gonna want know tell say
    said see yeah sure also still even really much many thing things something anything
    shall may might must us ll re ve don doesn didn isn aren wasn weren won wouldn couldn
    shouldn t s d m o
    """
STOP_WORDS: frozenset[str] = frozenset(_STOP_WORDS_TEXT.split())

_TERM = re.compile(r"\w+")


@dataclass(frozen=True)
class Recalled:
    message: StoredMessage
    score: float
    """The weighted sum of the three parts below."""
    bm25: float
    """Relevance: this message's BM25, min-max scaled over the candidates to [0, 1]."""
    recency: float
    importance: float
    why: str
    """For `--explain`: "matched 'silver', 'key'; 42 turns ago; importance 0.6"."""


def _fold(text: str) -> str:
    """Lower-case without diacritics, as the index's `unicode61 remove_diacritics 2` sees it."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def query_terms(text: str) -> list[str]:
    """The words of `text` worth searching for: folded, stop-words and one-letter words dropped."""
    terms: list[str] = []
    for word in _TERM.findall(_fold(text[:MAX_QUERY_CHARS])):
        word = word.strip("_")
        if (len(word) > 1 or word.isdigit()) and word not in STOP_WORDS and word not in terms:
            terms.append(word)
    return terms[:MAX_TERMS]


def match_expression(terms: Sequence[str]) -> str:
    """An FTS5 MATCH expression: any of the terms, each a quoted string.

    Quoting makes every term a plain phrase, so `OR`, `NEAR(`, `*`, `-`, `:` and `"` in the
    user's text are searched for as words (or dropped), never run as query syntax.
    """
    return " OR ".join('"' + term.replace('"', '""') + '"' for term in terms)


@heals_search_index
def search(
    store: ChatStore, chat_id: int | None, text: str, *, limit: int = 10
) -> list[StoredMessage]:
    """Messages of a chat (any branch), or of every chat with `chat_id=None`, matching any word
    of `text`, best BM25 match first: plain full-text search, without recall's stop words,
    scaling or ranking."""
    words = _TERM.findall(text)
    if not words:
        return []
    with store.transaction() as conn:
        rows = conn.execute(
            f"""
            SELECT {tree.message_columns("m")}
            FROM message_search JOIN messages m ON m.id = message_search.rowid
            WHERE message_search MATCH ? AND (? IS NULL OR m.chat_id = ?)
            ORDER BY message_search.rank LIMIT ?
            """,
            (match_expression(words), chat_id, chat_id, limit),
        ).fetchall()
    return [tree.message_from_row(row) for row in rows]


def recency_of(turns_ago: int, half_life_turns: float) -> float:
    return float(0.5 ** (max(turns_ago, 0) / max(half_life_turns, 1e-9)))


@heals_search_index
def recall(
    store: ChatStore,
    chat_id: int,
    query: str,
    *,
    exclude_ids: Collection[int],
    k: int = 3,
    now_turn: int,
    weights: tuple[float, float, float] = (1.0, 1.0, 1.0),
    half_life_turns: float = 50.0,
) -> list[Recalled]:
    """The `k` best older messages of the chat's active path for `query`, best first.

    `now_turn` is the current turn's position on the path (its depth: the root is turn 0);
    `weights` are (relevance, recency, importance).
    """
    terms = query_terms(query)
    if not terms or k <= 0:
        return []
    excluded = [int(i) for i in exclude_ids]
    columns = tree.message_columns("m").replace(
        "m.content", f"substr(m.content, 1, {RECALL_CHARS + 1}) AS content"
    )
    with store.reading() as conn:
        leaf = store.get_chat(chat_id).active_leaf_id
        if leaf is None:
            return []
        rows = conn.execute(
            up_cte()
            + f"""
            SELECT {columns}, bm25(message_search) AS bm25
            FROM message_search JOIN messages m ON m.id = message_search.rowid
            WHERE message_search MATCH ? AND m.chat_id = ? AND m.role != 'system'
              AND m.id IN (SELECT id FROM up)
              AND m.id NOT IN (SELECT value FROM json_each(?))
            ORDER BY bm25 LIMIT ?
            """,
            (leaf, match_expression(terms), chat_id, json.dumps(sorted(excluded)), CANDIDATES),
        ).fetchall()
    rows = [row for row in rows if -float(row["bm25"]) >= MIN_BM25]
    if not rows:
        return []
    strengths = [-float(row["bm25"]) for row in rows]
    low, high = min(strengths), max(strengths)
    w_rel, w_rec, w_imp = weights
    found: list[Recalled] = []
    for row, strength in zip(rows, strengths, strict=True):
        message = tree.message_from_row(row)
        if len(message.content) > RECALL_CHARS:
            message = replace(message, content=message.content[:RECALL_CHARS] + " …")
        relevance = (strength - low) / (high - low) if high > low else 1.0
        turns_ago = max(now_turn - message.depth, 0)
        recency = recency_of(turns_ago, half_life_turns)
        importance = (
            message.importance if message.importance > 0 else importance_of(message.content)
        )
        words = set(_TERM.findall(_fold(message.content)))
        matched = ", ".join(f"'{t}'" for t in terms if t in words) or "a phrase"
        found.append(
            Recalled(
                message=message,
                score=w_rel * relevance + w_rec * recency + w_imp * importance,
                bm25=relevance,
                recency=recency,
                importance=importance,
                why=f"matched {matched}; {turns_ago} turns ago; importance {importance:.2f}",
            )
        )
    found.sort(key=lambda r: (-r.score, -r.message.depth))
    return found[:k]
