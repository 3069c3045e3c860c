"""What a turn's prompt draws on besides the sheet and the history: lore, summaries, recall.

The session asks for these once per prompt; the lore scan itself is `app.memory.lore.scan`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.memory.assembly import Assembly, Section
from app.memory.lore import LoreResult
from app.memory.recall import Recalled, recall
from app.memory.store import ChatStore
from app.memory.summaries import SUMMARY_FAILED, Summary, current_summary

RECALL_K = 3


@dataclass
class TurnInputs:
    lore: LoreResult | None = None
    summaries: list[Summary] = field(default_factory=list)
    recalled: list[Recalled] = field(default_factory=list)
    summary_failed: str | None = None
    """Why the chat's last background summary failed, until one succeeds."""

    @property
    def summary_text(self) -> str:
        return " ".join(s.text.strip() for s in self.summaries if s.text.strip())


def summary_failure(meta: dict[str, object]) -> str | None:
    """The chat's last summary failure, kept in its metadata by the summariser."""
    failed = meta.get(SUMMARY_FAILED)
    return failed if isinstance(failed, str) and failed else None


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
                + [f"budget: {lore.tokens}/{lore.budget} tokens used"]
                + [f"rule: {rule}" for rule in lore.rules],
            )
        )
    if inputs.summaries:
        _section(assembly, "summary").lines = [s.describe() for s in inputs.summaries]
    if inputs.summary_failed:
        _section(assembly, "summary").lines.append(f"! {inputs.summary_failed}")
    if inputs.recalled:
        notes = _section(assembly, "per-turn notes")
        notes.lines = [line for line in notes.lines if not line.startswith("memory: ")] + [
            f"recalled message {r.message.id}: {r.why} (score {r.score:.2f})"
            for r in inputs.recalled
        ]


def _section(assembly: Assembly, name: str) -> Section:
    return next(s for s in assembly.sections if s.name == name)
