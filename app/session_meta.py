"""What a chat keeps about itself besides its messages: its stop strings, the NPC's state
variables and trust, the user's persona and the author's note.

Kept apart from `app.session` (whose methods of the same names call these): these set the chat's
own settings, kept in its metadata (a saved chat's in the store), while the session writes and
prompts along the chat.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import TypeAdapter, ValidationError

from app.errors import LoreweaverError
from app.memory.authors_note import AuthorsNote, save_note
from app.memory.chat_state import StateEntry, prompt_state, state_entries, state_update
from app.npc import structured
from app.prompts.formats import role_play_stops
from app.settings import MAX_STOPS, StopString
from app.sheets.validation import describe

if TYPE_CHECKING:
    from app.session import ChatSession

STOP_META = "stop"
"""The chat's own stop strings, in its metadata."""


def state_values(session: ChatSession) -> dict[str, object]:
    """The per-turn notes' state: the chat's values of the sheet's variables, moved trust."""
    return prompt_state(session.sheet, structured.state_meta(session), user=session.user)


def state(session: ChatSession) -> list[StateEntry]:
    """The NPC's state variables and trust, with this chat's values."""
    return state_entries(session.sheet, structured.state_meta(session), user=session.user)


def set_state(session: ChatSession, name: str, raw: str) -> StateEntry:
    """Set a state variable or `trust:NAME` from typed text (checked by type and range)."""
    update, entry = state_update(
        session.sheet, structured.state_meta(session), name, raw, user=session.user
    )
    if structured.keep_on_path(session, update):  # the state at this point of the tree
        return entry
    if session.store is not None and session.chat is not None:
        session.chat = session.store.update_chat(session.chat.id, meta=update)
    else:
        session.meta.update(update)
    return entry


def stops(session: ChatSession) -> list[str]:
    """Where a reply ends: the format's turn markers and speaker tags, the settings' stop
    strings, then the chat's own."""
    own = session.chat_meta.get(STOP_META)
    mine = [s for s in own if isinstance(s, str) and s] if isinstance(own, list) else []
    return list(
        dict.fromkeys([*role_play_stops(session.fmt, session.user), *session.extra_stops, *mine])
    )


def set_stops(session: ChatSession, stops: list[str]) -> None:
    """This chat's own stop strings (replacing its earlier ones; [] removes them)."""
    try:
        checked = TypeAdapter(list[StopString]).validate_python(stops)
    except ValidationError as exc:
        raise LoreweaverError(f"stop strings: {describe(exc)}") from None
    if len(checked) > MAX_STOPS:
        raise LoreweaverError(f"at most {MAX_STOPS} stop strings, got {len(checked)}")
    update = {STOP_META: checked}
    if session.store is not None and session.chat is not None:
        session.chat = session.store.update_chat(session.chat.id, meta=update)
    else:
        session.meta.update(update)


def set_authors_note(session: ChatSession, note: AuthorsNote | None) -> None:
    """Change the chat's author's note (None removes it); a saved chat keeps it."""
    if session.store is not None and session.chat is not None:
        save_note(session.store, session.chat.id, note)
    session.authors_note = note if note is not None and note.text.strip() else None


def set_persona(session: ChatSession, name: str, description: str = "") -> None:
    """Who the user is in this chat: name and description, kept with the chat."""
    name = " ".join(name.split())
    if not name:
        raise LoreweaverError("a persona needs a name")
    session.user, session.user_description = name, description.strip()
    if session.store is not None and session.chat is not None:
        session.chat = session.store.update_chat(
            session.chat.id,
            user_name=session.user,
            meta={"user_description": session.user_description},
        )
