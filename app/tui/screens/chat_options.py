"""The chat screen's dialogs about how the open chat is played: the author's note (F6), the NPC's
state and trust (F7), every chat (F8) and bookmarks (Ctrl+B). Each asks the session through the
controller (so none runs while a reply streams) and redraws the log."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from app.errors import LoreweaverError
from app.memory.authors_note import AuthorsNote
from app.memory.store import add_bookmark
from app.tui.screens.ask import AskDialog
from app.tui.screens.authors_note import AuthorsNoteScreen
from app.tui.screens.chats import ChatsScreen
from app.tui.screens.library import Choice
from app.tui.screens.state_panel import StatePanel

if TYPE_CHECKING:
    from app.tui.screens.chat import ChatScreen


def ask_authors_note(screen: ChatScreen) -> None:
    session = screen.fetch(screen.chat.idle)
    if session is None:
        return

    def chosen(note: AuthorsNote | None) -> None:
        if note is not None:
            screen.attempt(lambda: session.set_authors_note(note))
        screen.refresh_log()

    screen.app.push_screen(AuthorsNoteScreen(session.authors_note), chosen)


def ask_state(screen: ChatScreen) -> None:
    session = screen.fetch(screen.chat.idle)
    if session is None:
        return

    def chosen(changes: dict[str, str] | None) -> None:
        for key, raw in (changes or {}).items():
            if not screen.attempt(partial(session.set_state, key, raw)):
                break
        screen.refresh_log()

    screen.app.push_screen(StatePanel(session.state()), chosen)


def show_chats(screen: ChatScreen) -> None:
    chat, store = screen.chat, screen.chat.store
    if store is None:
        screen.notify("No chat store.", severity="warning")
        return
    if chat.busy:
        screen.fetch(chat.idle)  # says why not
        return
    session = chat.session
    current = session.chat.id if session is not None and session.chat is not None else None

    def chosen(choice: Choice | None) -> None:
        if choice is not None:
            screen.open_character(choice.character, choice.chat_id)
        else:
            screen.refresh_log()

    screen.app.push_screen(
        ChatsScreen(
            store,
            character=chat.character,
            current=current,
            exports=screen.chat.where.root / "exports",
        ),
        chosen,
    )


def ask_bookmark(screen: ChatScreen) -> None:
    session = screen.fetch(screen.chat.idle)
    if session is None:
        return

    def named(name: str | None) -> None:
        if name is None:
            return
        try:
            saved = session.saved_chat()
            if saved is None or session.store is None:
                raise LoreweaverError("this chat is not saved, so it has no bookmarks")
            add_bookmark(session.store, saved.id, name)
        except LoreweaverError as exc:
            screen.notify(str(exc), severity="error")
            return
        screen.notify(f"Bookmarked as {name!r} (F8 lists bookmarks).")
        screen.refresh_log()

    screen.app.push_screen(AskDialog("Bookmark", "A name for this point of the chat"), named)
