"""One turn's prompt layout for a session: lore, author's note, summaries and recall around the
history, then the assembly (`app.memory.assembly`) with its `--explain` lines.

Lore fires on the texts in the scan window, summaries stand in for evicted turns, and older
messages that match the user's line are recalled, unless still in the window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.memory.assembly import Assembly, Turn, TurnNotes, Window, assemble, post_history_text
from app.memory.authors_note import place_note
from app.memory.history import PathHistory, PromptTurns, Texts, ids_of, roles_of
from app.memory.lore import scan_lore, timers_for
from app.memory.message_cap import cap_text
from app.memory.turn_inputs import (
    TurnInputs,
    explain_inputs,
    recall_for,
    summaries_for,
    summary_failure,
)
from app.npc.structured import instructions
from app.prompts.messages import Message

if TYPE_CHECKING:
    from app.session import ChatSession


@dataclass(frozen=True)
class TurnPlan:
    """One turn's prompt as computed, and what it drew on: the session is left as it was, so
    a view can plan on one thread while a send plans on another."""

    assembly: Assembly
    inputs: TurnInputs
    """Lore, summaries and recalled messages the prompt used."""
    evicted: list[int]
    """Store ids of the turns the window dropped (handed to the summariser after the reply)."""


def turn_plan(
    session: ChatSession, past: Sequence[Message], pending: str | None, notes: TurnNotes | None
) -> TurnPlan:
    """The prompt's sections for `past` + `pending`, and what the turn drew on.

    A stored path (`PathHistory`) is laid out from its cached token counts: only the texts the
    window keeps (and lore scans) are read.
    """
    count = session.count_tokens
    n_ctx = session.engine.n_ctx

    def capped(text: str) -> str:
        """The prompt's copy of a message: cut with a marker when over its share of the window."""
        return cap_text(text, len(text), n_ctx, count)

    tail: list[Turn] = []
    if pending is not None:
        # send stores the line before building the prompt: with its id it counts as in the
        # window, so recall cannot bring the line back as an "earlier" message
        at = len(past)
        stored = at < min(len(session.ids), len(session.history)) and (
            session.history[at].content == pending
        )
        tail = [Turn("user", capped(pending), session.ids[at] if stored else None)]
    turns: Sequence[Turn]
    sizes: list[int] | None = None
    if isinstance(past, PathHistory):
        turns = PromptTurns(past, tail, n_ctx=n_ctx, count=count)
        sizes = turns.sizes()
    else:
        ids = session.ids[: len(past)]
        turns = [
            Turn(m.role, capped(m.content), ids[i] if i < len(ids) else None)
            for i, m in enumerate(past)
        ] + tail
    if notes is None:
        notes = TurnNotes(
            post_history="\n\n".join(
                t
                for t in (
                    post_history_text(session.sheet, user=session.user),
                    instructions(session),
                )
                if t
            ),
            state=session.state_values(),
        )
    chat_id = session.chat.id if session.chat is not None else None
    turn = roles_of(turns).count("user")
    lore = scan_lore(
        session.books,
        Texts(turns),
        turn=turn,
        seed=chat_id or 0,
        timers=timers_for(session.chat_meta, turn),
        char=session.sheet.name,
        user=session.user,
        count=count,
        n_ctx=session.engine.n_ctx,
        settings=session.world_info,
    )
    fixed, triggered = lore.prompt_lore() if lore is not None else ([], [])
    notes.lore = triggered
    in_chat, note_line = place_note(
        session.authors_note, notes, user_turn=turn, char=session.sheet.name, user=session.user
    )
    summaries = summaries_for(session.store, chat_id)
    inputs = TurnInputs(lore, summaries, summary_failed=summary_failure(session.chat_meta))

    def lay_out() -> Assembly:
        return assemble(
            session.sheet,
            turns,
            user=session.user,
            user_description=session.user_description,
            count=count,
            window=Window(n_ctx=session.engine.n_ctx, reserve=session.reserve),
            constant_lore=fixed,
            summary=inputs.summary_text,
            notes=notes,
            in_chat=in_chat,
            sizes=sizes,
        )

    assembly = lay_out()
    query = (
        pending
        if pending is not None
        else next((t.content for t in reversed(turns) if t.role == "user"), None)
    )
    in_window = set(ids_of(turns[assembly.first_kept :]))
    inputs.recalled = recall_for(
        session.store, chat_id, query, in_window=in_window, now_turn=len(turns)
    )
    if inputs.recalled:
        speaker = {"user": session.user, "assistant": session.sheet.name}
        notes.memories = [
            f"{speaker.get(r.message.role, session.sheet.name)}: {r.message.content}"
            for r in inputs.recalled
        ]
        assembly = lay_out()
    explain_inputs(assembly, inputs)
    if note_line and in_chat is None:
        section = next(s for s in assembly.sections if s.name == "per-turn notes")
        section.lines = [x for x in section.lines if x != "author's note"] + [note_line]
    return TurnPlan(assembly, inputs, ids_of(assembly.evicted))
