"""Which stored chat a session plays: its greetings, its visible path, a new or resumed chat.

A new chat is stored only when it gets its first line (`ChatSession` asks for it then), so
opening a character and leaving again leaves no empty chat behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.errors import LoreweaverError
from app.memory.history import PathHistory
from app.memory.message_cap import marker
from app.memory.store import Chat, ChatStore, heals_search_index
from app.prompts.messages import Message
from app.sheets.macros import substitute
from app.sheets.sheet import Sheet


def greetings(sheet: Sheet, user: str) -> list[str]:
    """The first message and the alternate greetings: the greeting's swipes, in card order."""
    texts = [sheet.first_message, *sheet.alternate_greetings]
    found = (substitute(text.strip(), char=sheet.name, user=user) for text in texts)
    return [text for text in found if text]


def visible_path(store: ChatStore, chat_id: int, tokenizer: str = "") -> PathHistory:
    """The active path as the user sees it, without empty (stopped at once) or hidden messages;
    texts are read only for the messages looked at."""
    return PathHistory.load(store, chat_id, tokenizer)


SHOWN_PAGE = 100
"""Messages a screen shows at first, and pages in at a time when scrolled back."""
SHOWN_CHARS = 50_000
"""A longer message is shown cut, with a marker (editing it still edits the whole text)."""


def shown_page(
    history: Sequence[Message], ids: Sequence[int], start: int, stop: int | None = None
) -> list[tuple[Message, int | None]]:
    """`history`'s messages at [start, stop) for showing, with their store ids (`ids`, in step):
    a long chat is shown (and paged in) a window at a time, each text cut at `SHOWN_CHARS`."""
    stop = len(history) if stop is None else stop
    known: list[int | None] = list(ids[start:stop])
    known += [None] * (stop - start - len(known))
    if isinstance(history, PathHistory):
        shown = history.page(start, stop, SHOWN_CHARS)
    else:
        shown = [
            Message(m.role, m.content[:SHOWN_CHARS] + marker(len(m.content) - SHOWN_CHARS))
            if len(m.content) > SHOWN_CHARS
            else m
            for m in history[start:stop]
        ]
    return list(zip(shown, known, strict=True))


@heals_search_index
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
