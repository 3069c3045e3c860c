"""Acting on one message of the chat: swipe, edit, delete, branch from it."""

from __future__ import annotations

from collections.abc import Callable

from textual import on

from app.errors import LoreweaverError
from app.session import ChatSession
from app.tui.app_state import AppState
from app.tui.screens.edit_message import EditMessageScreen
from app.tui.widgets.chat_log import ChatLog, ChatMessage


class ChatTreeActions(AppState):
    def action_swipe(self, step: int) -> None:
        self.act_on(-1, "swipe", step)

    @on(ChatMessage.Action)
    def _message_action(self, event: ChatMessage.Action) -> None:
        index = self.query_one(ChatLog).index_of(event.block) + self.log_offset
        self.act_on(index, event.action, event.step)

    def act_on(self, index: int, action: str, step: int = 0) -> None:
        """`action` (swipe, edit, delete, branch) on message `index`; negative counts from the end
        (the palette acts on the last message)."""
        session = self._idle_session()
        if session is None or not session.history:
            return
        if index < 0:
            index += len(session.history)
        try:
            if action == "swipe":
                self._swipe_at(session, index, step)
            elif action == "edit":
                message = session.history[index]
                speaker = session.user if message.role == "user" else session.sheet.name

                def edited(text: str | None) -> None:
                    if text is not None:
                        self._change_tree(lambda: session.edit(index, text))

                self.push_screen(EditMessageScreen(speaker, message.content), edited)
            elif action == "delete":
                self._change_tree(lambda: session.delete(index))
                self.notify("Message deleted (its swipes and what followed it too).")
            elif action == "branch":
                chat = session.branch(index)
                self.wanted_chat = chat.id
                self._refresh_log()
                self.notify(f"Branched into a new chat ({chat.id}).")
        except LoreweaverError as exc:
            self.notify(str(exc), severity="warning")

    def _swipe_at(self, session: ChatSession, index: int, step: int) -> None:
        n, of = session.swipe_position(index)
        last_reply = index == len(session.history) - 1 and index > 0
        if step > 0 and n == of and last_reply and session.history[index].role == "assistant":
            self._reply(session.regenerate)  # past the last swipe: a new one, as in SillyTavern
            return
        self._change_tree(lambda: session.swipe(step, index))

    def _change_tree(self, change: Callable[[], object]) -> None:
        try:
            change()
        except LoreweaverError as exc:
            self.notify(str(exc), severity="warning")
        self._refresh_log()
