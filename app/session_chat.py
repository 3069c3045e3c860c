"""Which stored chat a session plays: its greetings, its visible path, a new or resumed chat.

A new chat is stored only when it gets its first line (`ChatSession` asks for it then), so
opening a character and leaving again leaves no empty chat behind.
"""

from __future__ import annotations

from typing import Any

from app.errors import LoreweaverError
from app.memory.records import Chat, StoredMessage
from app.memory.store import ChatStore
from app.sheets.macros import substitute
from app.sheets.sheet import Sheet


def greetings(sheet: Sheet, user: str) -> list[str]:
    """The first message and the alternate greetings: the greeting's swipes, in card order."""
    texts = [sheet.first_message, *sheet.alternate_greetings]
    found = (substitute(text.strip(), char=sheet.name, user=user) for text in texts)
    return [text for text in found if text]


def visible_path(store: ChatStore, chat_id: int) -> list[StoredMessage]:
    """The active path as the user sees it, without empty (stopped at once) or hidden messages."""
    return [m for m in store.active_path(chat_id) if m.content.strip() and not m.meta.get("hidden")]


def store_new_chat(
    store: ChatStore,
    character_id: str,
    sheet: Sheet,
    *,
    user: str,
    meta: dict[str, Any] | None = None,
) -> Chat:
    """A chat with its greetings stored (the first shown, the others as its swipes)."""
    with store.transaction():
        chat = store.create_chat(character_id, user_name=user, meta=meta)
        first = None
        for text in greetings(sheet, user):
            stored = store.add_message(chat.id, "assistant", text, parent_id=None, name=sheet.name)
            first = first or stored
        if first is not None:
            store.select(first.id)
        return store.get_chat(chat.id)


def find_chat(store: ChatStore, character_id: str, resume: int | bool | None) -> Chat | None:
    """The chat to resume: the character's latest (`True`), the one with id `resume`, or None.

    None means a new chat, which the session stores once it has a line to keep.
    """
    if isinstance(resume, bool):
        chat = store.latest_chat(character_id) if resume else None
        if resume and chat is None:
            raise LoreweaverError(f"no saved chat with {character_id!r} to resume")
        return chat
    if resume is None:
        return None
    chat = store.get_chat(resume)
    if chat.character_id != character_id:
        raise LoreweaverError(
            f"chat {resume} belongs to {chat.character_id!r}, not {character_id!r}"
        )
    return chat
