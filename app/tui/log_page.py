"""What the chat log shows: the open chat's messages as `Shown` rows, a page at a time (a
long chat pages in older messages as the log is scrolled to its top), and before the model is
ready a read-only preview of the chat that will open.

Kept apart from `app.tui.controller` (whose methods of the same names call these): these read
the chat for showing, while the controller acts on it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.errors import LoreweaverError
from app.npc.structured import annotation_at
from app.session import SHOWN_PAGE, greetings, shown_page, visible_path
from app.tui.chat_events import Shown

if TYPE_CHECKING:
    from app.tui.controller import ChatController


def preview(controller: ChatController) -> list[Shown]:
    """Before the model is ready: the chat that will open, read only."""
    sheet, character, store = controller.sheet, controller.character, controller.store
    if sheet is None or character is None:
        return []
    chat = None
    if store is not None and not controller.new_chat:
        try:
            chat = (
                store.get_chat(controller.wanted_chat)
                if controller.wanted_chat is not None
                else store.latest_chat(character)
            )
        except LoreweaverError:
            chat = None
    if chat is None or store is None:
        return [
            Shown(None, sheet.name, text, False)
            for text in greetings(sheet, controller.settings.user_name)[:1]
        ]
    path = visible_path(store, chat.id)
    controller.log_offset = max(len(path) - controller.log_size, 0)
    return [
        Shown(
            message_id,
            chat.user_name if m.role == "user" else sheet.name,
            m.content,
            m.role == "user",
        )
        for m, message_id in shown_page(path, path.ids, controller.log_offset)
    ]


def shown(controller: ChatController) -> list[Shown]:
    session = controller.session
    if session is None:
        return controller.preview()
    shown: list[Shown] = []
    controller.log_offset = max(len(session.history) - controller.log_size, 0)
    for index, (message, message_id) in enumerate(
        session.page(controller.log_offset), start=controller.log_offset
    ):
        mine = message.role == "user"
        swipe = None
        if message_id is not None and not mine:
            swipe = session.swipe_position(index)
        speaker = session.user if mine else session.sheet.name
        note = "" if mine else annotation_at(session, index)
        shown.append(Shown(message_id, speaker, message.content, mine, swipe, note))
    return shown


def older(controller: ChatController) -> bool:
    """Page in older messages (the log was scrolled to its top); False if there are none."""
    if controller.log_offset <= 0:
        return False
    controller.log_size += SHOWN_PAGE
    return True
