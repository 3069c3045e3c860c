"""Structured NPC replies in a scene run: a cast member whose sheet opts in answers under its
reply grammar; the line is the reply's `line`, its emotion, action and state changes are stored
as the message's `npc` annotations (as in a chat), and the state after it is the branch's, so
later `when` conditions read what that NPC's reply set on that branch."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, cast

from app.engine.base import Engine, Generation
from app.group import Member
from app.memory.chat_state import STATE_META, state_entries
from app.npc.state import NPC_META, OVERLAY
from app.npc.structured import ReplyShape, StructuredGeneration, reply_shape


class Shapes:
    """Each member's reply shape (None: plain text), checked against the engine once."""

    def __init__(self, engine: Engine, user: str) -> None:
        self.engine = engine
        self.user = user
        self._found: dict[str, ReplyShape | None] = {}

    def of(self, member: Member) -> ReplyShape | None:
        if member.id not in self._found:
            entries = state_entries(member.sheet, {}, user=self.user)
            self._found[member.id] = reply_shape(member.sheet, entries, self.engine)
        return self._found[member.id]

    def read(self, member: Member, raw: str, own: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """The reply's line and its `npc` annotations, given the member's state `own`."""
        shape = self.of(member)
        assert shape is not None
        meta = {STATE_META: own}
        entries = state_entries(member.sheet, meta, user=self.user)
        reply = StructuredGeneration(
            cast(Generation, [raw]), replace(shape, entries=entries), meta, self.user
        )
        text = "".join(reply)
        return text, {NPC_META: reply.annotations()}


def state_after(annotations: dict[str, Any]) -> dict[str, Any]:
    """The member's sheet state after a structured reply (empty for a plain one)."""
    note = annotations.get(NPC_META)
    after = note.get(OVERLAY) if isinstance(note, dict) else None
    state = after.get(STATE_META) if isinstance(after, dict) else None
    return dict(state) if isinstance(state, dict) else {}
