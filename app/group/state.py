"""Each NPC's own state in a group scene.

A cast member whose sheet asks for structured replies sets its state variables and trust with
its lines; what a line applied, and the state after it, is stored in that line's metadata (so a
swipe or a branch has its own). A member's state is the scene's starting values for it,
overlaid with its own latest structured line on the path: another NPC's lines are never read,
so no NPC's state reaches another's prompt.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.engine.base import Engine, Generation, Sampling
from app.group.cast import Member
from app.group.prompt import Line
from app.memory.chat_state import state_entries
from app.npc import structured
from app.npc.state import NPC_META, path_meta


def member_meta(saved: object, member: Member, lines: Sequence[Line]) -> dict[str, Any]:
    """The state metadata (`state`, `trust`) `member` has at the end of `lines`; `saved` is the
    scene's `state` record (member id → its starting values; junk reads as none)."""
    own = saved.get(member.id) if isinstance(saved, dict) else None
    start = own if isinstance(own, dict) else {}
    return path_meta(start, (line.meta for line in reversed(lines) if line.speaker == member.id))


def last_note(member: Member, lines: Sequence[Line]) -> dict[str, Any] | None:
    """`member`'s latest structured line's annotations on the path."""
    for line in reversed(lines):
        note = line.meta.get(NPC_META) if line.speaker == member.id else None
        if isinstance(note, dict):
            return note
    return None


def asks(member: Member, meta: dict[str, Any], user: str, lines: Sequence[Line]) -> str:
    """The structured-reply instruction in `member`'s prompt ("" when it does not opt in)."""
    entries = state_entries(member.sheet, meta, user=user)
    return structured.ask_for(member.sheet, user, entries, last_note(member, lines))


def shape(
    member: Member, meta: dict[str, Any], user: str, engine: Engine | None
) -> structured.ReplyShape | None:
    """The member's reply shape for its state (None: plain replies); a bad declaration is one
    line naming the character and field."""
    return structured.reply_shape(
        member.sheet, state_entries(member.sheet, meta, user=user), engine
    )


def start(
    engine: Engine,
    member: Member,
    prompt: str,
    sampling: Sampling,
    stops: list[str],
    meta: dict[str, Any],
    user: str,
) -> Generation:
    """The member's line: plain, or under its grammar with its changes applied to `meta`."""
    found = shape(member, meta, user, engine)
    return structured.generate(engine, found, prompt, sampling, stops, meta, user)
