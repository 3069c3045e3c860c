"""What a turn's prompt draws on besides the sheet and the history: lore, summaries, recall.

The session asks for these once per prompt. Lore timers (sticky, cooldown, delay) belong to the
chat: they are kept in its metadata as the timers before and after the latest turn, so a
regenerated reply or a preview of the same turn sees the state that turn started from.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.errors import LoreweaverError
from app.memory.assembly import Assembly, Section
from app.memory.lore import LoreResult, LoreTimers, ScanInput, activate
from app.memory.retrieval import Recalled, recall
from app.memory.store import ChatStore
from app.memory.summary_store import Summary, current_summary
from app.sheets.lorebook import Lorebook

LORE_META = "lore_timers"
MAX_RECURSION = 3
RECALL_K = 3


@dataclass
class TurnInputs:
    lore: LoreResult | None = None
    summaries: list[Summary] = field(default_factory=list)
    recalled: list[Recalled] = field(default_factory=list)

    @property
    def summary_text(self) -> str:
        return " ".join(s.text.strip() for s in self.summaries if s.text.strip())


def lore_budget(books: Sequence[Lorebook], n_ctx: int) -> int:
    """The books' own budget (the largest), never more than a quarter of the window."""
    own = max((b.token_budget for b in books), default=0)
    return min(own, n_ctx // 4)


def timers_for(meta: dict[str, Any], turn: int) -> LoreTimers:
    """The timers turn `turn` starts from, out of a chat's metadata (junk reads as none)."""
    saved = meta.get(LORE_META)
    if not isinstance(saved, dict):
        return LoreTimers()
    key = "before" if saved.get("turn") == turn else "after"
    try:
        return LoreTimers.from_dict(saved.get(key, {}), "chat metadata")
    except LoreweaverError:  # a damaged record must not stop the chat: the timers start afresh
        return LoreTimers()


def timers_meta(before: LoreTimers, after: LoreTimers, turn: int) -> dict[str, Any]:
    return {LORE_META: {"turn": turn, "before": before.to_dict(), "after": after.to_dict()}}


def scan_lore(
    books: Sequence[Lorebook],
    texts: Sequence[str],
    *,
    turn: int,
    seed: int,
    timers: LoreTimers,
    char: str,
    user: str,
    count: Callable[[str], int],
    n_ctx: int,
) -> LoreResult | None:
    if not any(book.entries for book in books):
        return None
    recursion = MAX_RECURSION if any(b.recursive_scanning for b in books) else 0
    return activate(
        books,
        ScanInput(messages=texts, turn=turn, seed=seed, state=timers, char=char, user=user),
        count_tokens=count,
        budget=lore_budget(books, n_ctx),
        max_recursion=recursion,
    )


def summaries_for(store: ChatStore | None, chat_id: int | None) -> list[Summary]:
    if store is None or chat_id is None:
        return []
    return current_summary(store, chat_id)


def recall_for(
    store: ChatStore | None,
    chat_id: int | None,
    query: str | None,
    *,
    in_window: set[int],
    now_turn: int,
) -> list[Recalled]:
    """Older messages relevant to the user's line, none of them already in the prompt."""
    if store is None or chat_id is None or not query:
        return []
    return recall(store, chat_id, query, exclude_ids=in_window, k=RECALL_K, now_turn=now_turn)


def explain_inputs(assembly: Assembly, inputs: TurnInputs) -> None:
    """Say in the assembly's sections what fired, what was cut, what was summarised or recalled."""
    lore = inputs.lore
    if lore is not None:
        constant = [
            f"{a.title}: {a.reason} ({a.tokens} tokens)" for a in lore.activated if a.constant
        ]
        triggered = [
            f"lore {a.title}: {a.reason} ({a.tokens} tokens)"
            for a in lore.activated
            if not a.constant
        ]
        _section(assembly, "constant lore").lines = constant + [f"! {n}" for n in lore.notices]
        notes = _section(assembly, "per-turn notes")
        notes.lines = triggered + [line for line in notes.lines if not line.startswith("lore: ")]
        assembly.sections.append(
            Section(
                "lore not used",
                0,
                [f"{r.title} [{r.book}]: {r.reason}" for r in lore.rejected]
                + [f"budget: {lore.tokens}/{lore.budget} tokens used"],
            )
        )
    if inputs.summaries:
        _section(assembly, "summary").lines = [s.describe() for s in inputs.summaries]
    if inputs.recalled:
        notes = _section(assembly, "per-turn notes")
        notes.lines = [line for line in notes.lines if not line.startswith("memory: ")] + [
            f"recalled message {r.message.id}: {r.why} (score {r.score:.2f})"
            for r in inputs.recalled
        ]


def _section(assembly: Assembly, name: str) -> Section:
    return next(s for s in assembly.sections if s.name == name)
