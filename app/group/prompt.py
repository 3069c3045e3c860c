"""One NPC's prompt in a group scene: its own sheet, books, goals, secrets and state, the scene,
and the shared history with every other speaker's line labelled by name.

The NPC's own lines are its assistant turns; everyone else's (the player's and other NPCs')
are user turns opening with "Name:". Nothing of another member's sheet or own lorebook is read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.group.cast import Member
from app.memory.assembly import Assembly, Turn, TurnNotes, Window, assemble, post_history_text
from app.memory.chat_state import prompt_state
from app.memory.history import Texts
from app.memory.lore import LoreResult, LoreTimers, scan_lore
from app.prompts.formats import PromptFormat
from app.sheets.lorebook import Lorebook


@dataclass(frozen=True)
class Line:
    """One line of the scene: `speaker` is a cast id, or "" for the player; `meta` is its
    stored metadata (a structured line's annotations and the state after it)."""

    speaker: str
    name: str
    text: str
    id: int | None = None
    meta: dict[str, Any] = field(default_factory=dict, compare=False)


def scene_text(member: Member, cast: Sequence[Member], user: str, description: str) -> str:
    """What the NPC knows of the scene: where, who is there, and that it speaks only for itself."""
    others = [m.name for m in cast if m.id != member.id] + [user]
    parts = [f"Scene: {description.strip()}"] if description.strip() else []
    parts.append(f"Present with {member.name}: {', '.join(others)}.")
    parts.append(f"Write only {member.name}'s next line; never speak for anyone else.")
    return "\n".join(parts)


def shared_books(cast: Sequence[Member]) -> list[Lorebook]:
    """The cast's world books, each once (own embedded books are not shared): a book several
    sheets name is loaded for each, so copies are told apart by content, not identity."""
    books: list[Lorebook] = []
    for member in cast:
        books += [b for b in member.world if all(b != seen for seen in books)]
    return books


def npc_turns(lines: Sequence[Line], member: Member) -> list[Turn]:
    return [
        Turn("assistant", line.text, line.id)
        if line.speaker == member.id
        else Turn("user", f"{line.name}: {line.text}", line.id)
        for line in lines
    ]


@dataclass(frozen=True)
class NpcPlan:
    """One NPC's prompt for its next line, and the lore it drew on (whose timers the scene
    keeps once the line is said)."""

    assembly: Assembly
    lore: LoreResult | None


def npc_plan(
    member: Member,
    cast: Sequence[Member],
    lines: Sequence[Line],
    *,
    user: str,
    user_description: str,
    description: str,
    state_meta: dict[str, Any],
    count: Callable[[str], int],
    n_ctx: int,
    reserve: int,
    turn: int | None = None,
    timers: LoreTimers | None = None,
    asks: str = "",
) -> NpcPlan:
    """The sections of `member`'s prompt for its next line after `lines`. `turn` is the scene's
    turn for lore timing (default: the lines so far), `timers` the lore timers it starts from,
    `asks` the member's structured-reply instruction (after its post-history text)."""
    turns = npc_turns(lines, member)
    books = shared_books(cast) + ([member.own_book] if member.own_book is not None else [])
    lore = scan_lore(
        books,
        Texts(turns),
        turn=len(lines) if turn is None else turn,
        seed=0,
        timers=timers or LoreTimers(),
        char=member.name,
        user=user,
        count=count,
        n_ctx=n_ctx,
    )
    fixed, triggered = lore.prompt_lore() if lore is not None else ([], [])
    post = post_history_text(member.sheet, user=user)
    notes = TurnNotes(
        post_history="\n\n".join(t for t in (post, asks) if t),
        state=prompt_state(member.sheet, state_meta, user=user),
    )
    notes.lore = triggered
    scene = ("scene", scene_text(member, cast, user, description))
    assembly = assemble(
        member.sheet,
        turns,
        user=user,
        user_description=user_description,
        count=count,
        window=Window(n_ctx=n_ctx, reserve=reserve),
        constant_lore=[scene, *fixed],
        notes=notes,
    )
    return NpcPlan(assembly, lore)


def npc_assembly(
    member: Member, cast: Sequence[Member], lines: Sequence[Line], **how: Any
) -> Assembly:
    """`npc_plan`'s sections alone."""
    return npc_plan(member, cast, lines, **how).assembly


def render(fmt: PromptFormat, assembly: Assembly) -> str:
    return fmt.render(assembly.messages)


def scene_stops(fmt: PromptFormat, cast: Sequence[Member], user: str) -> list[str]:
    """The format's turn markers and every speaker's name opening a line: an NPC stops before
    it would write anyone's line, its own included."""
    stops = list(fmt.stop)
    for name in [user, *(m.name for m in cast)]:
        name = " ".join(name.split())
        if name:
            stops += [f"\n{name}:", f"\n{name} :"]
    return list(dict.fromkeys(stops))


def foreign_label(text: str, member: Member, cast: Sequence[Member], user: str) -> int | None:
    """Where a line labelled with someone else's name starts in `text` (the stops catch one
    after a newline; this catches one at the very start), or None."""
    opening = text.lstrip()
    for name in [user, *(m.name for m in cast if m.id != member.id)]:
        if opening.startswith(f"{name}:"):
            return len(text) - len(opening)
    return None
