"""The chat screen's dialogs about the open chat: edit or delete a message (delete asks, naming
what goes), the persona, the context view. Each asks the controller and redraws the log."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.personas import load_personas, save_personas
from app.session import ChatSession
from app.tui.screens.confirm import ConfirmDialog
from app.tui.screens.context import ContextScreen
from app.tui.screens.edit_message import EditMessageScreen
from app.tui.screens.persona import PersonaChoice, PersonaScreen

if TYPE_CHECKING:
    from app.tui.screens.chat import ChatScreen


def ask_edit(screen: ChatScreen, index: int) -> None:
    chat = screen.chat
    found = screen.fetch(lambda: chat.message_at(index))
    if found is None:
        return
    speaker, text = found

    def edited(new: str | None) -> None:
        if new is not None:
            screen.attempt(lambda: chat.edit(index, new))
        screen.refresh_log()

    screen.app.push_screen(EditMessageScreen(speaker, text), edited)


def ask_delete(screen: ChatScreen, index: int) -> None:
    chat = screen.chat
    what = screen.fetch(lambda: chat.what_delete_takes(index))
    if what is None:
        return

    def answered(yes: bool | None) -> None:
        if yes and screen.attempt(lambda: chat.act_on(index, "delete")):
            screen.notify(f"Deleted {what}. Ctrl+Z brings it back.")
        screen.refresh_log()

    screen.app.push_screen(ConfirmDialog(f"Delete {what}?", yes="Delete"), answered)


def ask_persona(screen: ChatScreen) -> None:
    """F3: pick, edit or save a persona; the saved ones are written when they changed."""
    session = screen.fetch(screen.chat.idle)
    saved = screen.fetch(lambda: load_personas(screen.chat.where))
    if session is None or saved is None:
        return

    def chosen(choice: PersonaChoice | None) -> None:
        if choice is not None:
            if choice.personas != saved:
                screen.attempt(lambda: save_personas(screen.chat.where, choice.personas))
            screen.attempt(lambda: screen.chat.set_persona(choice.name, choice.description))
        screen.refresh_log()

    screen.app.push_screen(
        PersonaScreen(saved, session.user, session.user_description, screen.chat.character or ""),
        chosen,
    )


def show_context(screen: ChatScreen) -> None:
    session = screen.fetch(screen.chat.idle)
    if session is None:
        return

    def explain(session: ChatSession = session) -> None:
        assembly = session.assembly()
        used = session.engine.count_tokens(session.fmt.render(assembly.messages))
        screen.app.call_from_thread(
            screen.app.push_screen, ContextScreen(assembly, used, session.engine.n_ctx)
        )

    screen.run_worker(explain, thread=True, group="context")
