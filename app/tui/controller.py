"""The chat, without a screen: which chat is open, sending, regenerating, continuing, impersonating,
stopping, acting on one message, and whether a reply owns the session. Imports nothing from
Textual, so every rule here is tested without Pilot (tests/tui/test_controller.py).

The screen hands in two callables: `emit` (an event for the screen, from any thread) and
`background` (run a function off the UI thread, in a named group). A refused action raises
`Refused`; a failed one raises `LoreweaverError`: the screen shows either as one line. A run
(reply or draft) ends with `ReplyDone`, `ReplyFailed` or a done `DraftChunk`; the session stays
busy until the screen, having shown that, calls `finished()`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from app.engine.base import Engine, Generation
from app.errors import LoreweaverError
from app.home import Home
from app.memory.store import ChatStore
from app.models import ModelInfo
from app.reply import Reply
from app.session import SHOWN_PAGE, ChatSession
from app.session_start import sampling_from, start_session
from app.settings import Settings, remember_chat
from app.sheets import library
from app.sheets.sheet import Sheet
from app.tui import log_page, status_line
from app.tui.chat_events import (
    BackgroundFailed,
    ChatEventKind,
    ChatOpened,
    DraftChunk,
    ReplyChunk,
    ReplyDone,
    ReplyFailed,
    ReplyProgress,
    ReplyStarted,
    Shown,
)
from app.tui.streaming import FRAME_S

BUSY = "Wait for the reply, or press Esc to stop it."
LOADING = "The model is still loading."

Emit = Callable[[ChatEventKind], None]
Background = Callable[[Callable[[], object], str], None]


class Refused(LoreweaverError):
    """The action cannot run now (a reply owns the session, or the model is loading)."""


def after(count: int) -> str:
    """'this message', 'this message and the one after it', '… and the 6 after it'."""
    if count == 0:
        return "this message"
    return (
        "this message and the one after it"
        if count == 1
        else (f"this message and the {count} after it")
    )


class ChatController:
    def __init__(
        self,
        where: Home,
        store: ChatStore | None,
        settings: Settings,
        *,
        emit: Emit,
        background: Background,
    ) -> None:
        self.where = where
        self.store = store
        self.settings = settings
        self.emit = emit
        self.background = background
        self.engine: Engine | None = None
        self.model: ModelInfo | None = None
        self.session: ChatSession | None = None
        self.character: str | None = None
        self.sheet: Sheet | None = None
        self.wanted_chat: int | None = None
        """The chat to open once the model is ready (None: the character's latest)."""
        self.new_chat = False
        self.busy = False
        """A worker owns the session (a reply or a draft is being generated)."""
        self.reply: Reply | None = None
        self.draft: Generation | None = None
        self.last_stats = ""
        self.background_note = ""
        """What the status bar says of failed background work in this chat (a summary)."""
        self._stop_asked = False
        self.log_size = SHOWN_PAGE
        """How many of the chat's last messages the log shows (grows as older ones page in)."""
        self.log_offset = 0
        """History index of the log's first block (a long chat is shown a page at a time)."""

    # -- which chat is open -------------------------------------------------------------------

    def first_chat(self) -> tuple[str, int | None] | None:
        """At launch: the chat open when the app last closed, else the first character's latest."""
        last = self.settings.last_chat
        if last is not None and self.store is not None:
            try:
                chat = self.store.get_chat(last)
                library.resolve(self.where, chat.character_id)
                return chat.character_id, chat.id
            except LoreweaverError:
                pass
        entries = library.entries(self.where)
        return (entries[0].id, None) if entries else None

    def open(self, character: str, chat_id: int | None = None, *, new: bool = False) -> None:
        """Show `character`'s chat: `chat_id`, a new one, or (default) their latest."""
        if self.busy:
            raise Refused(BUSY)
        _, sheet = library.load(self.where, character)
        self.sheet, self.character = sheet, character
        self.wanted_chat, self.new_chat = chat_id, new
        self.last_stats = ""
        self.log_size = SHOWN_PAGE
        self._drop_session()
        self.start()

    def preview(self) -> list[Shown]:
        return log_page.preview(self)

    def start(self) -> None:
        """Open the chosen chat in a session once the model is ready (nothing before)."""
        sheet, character, engine, model = self.sheet, self.character, self.engine, self.model
        if engine is None or model is None or sheet is None or character is None:
            return
        if self.session is not None:
            return
        from app.prompts.formats import choose_format

        resume: int | bool | None = self.wanted_chat
        if resume is None and not self.new_chat and self.store is not None:
            resume = True if self.store.latest_chat(character) else None
        fmt = choose_format(self.settings.template, model)
        session = start_session(
            engine,
            model,
            fmt,
            sheet,
            character,
            self.settings,
            store=self.store,
            resume=resume,
            home=self.where,
        )
        self.session, self.new_chat = session, False
        self.background_note = ""
        if session.summariser is not None:
            session.summariser.on_error = self._background_failed
        if resume is not None:  # the saved KV cache, if any, loads off the UI thread
            self.background(session.restore_cache, "engine-state")
        self._opened(" ".join(filter(None, [fmt.note, *session.notices])))

    def _background_failed(self, error: str) -> None:
        """A summary failed (on the summariser's thread): the status bar says so from now on."""
        self.background_note = "⚠ summary failed"
        self.emit(BackgroundFailed(error))

    def _opened(self, note: str = "") -> None:
        assert self.character is not None
        self.emit(ChatOpened(self.character, self._remember(), note))

    def _remember(self) -> int | None:
        """The open chat's id, recorded as the one to relaunch into; None while it is unsaved
        (a new chat is stored at its first line: `finished` records it then)."""
        session = self.session
        chat_id = session.chat.id if session is not None and session.chat is not None else None
        if chat_id is None:
            return None
        self.wanted_chat = chat_id
        if self.settings.last_chat != chat_id:
            self.settings = self.settings.model_copy(update={"last_chat": chat_id})
            # A settings file that does not load is left alone (reported at start).
            with contextlib.suppress(LoreweaverError):
                remember_chat(self.where, chat_id)
        return chat_id

    def _drop_session(self) -> None:
        """Leave the current chat: its summaries stop and its KV cache is saved, off the UI."""
        session, self.session = self.session, None
        if session is not None:
            self.background(session.close, "engine-state")

    def use_engine(self, engine: Engine | None, model: ModelInfo | None) -> None:
        """A model loaded (or, with None, is being replaced): the chat reopens on it."""
        self._drop_session()
        self.engine, self.model = engine, model
        self.last_stats = ""
        self.start()

    def close(self) -> None:
        self.stop()
        if self.session is not None:
            self.session.close()
            self.session = None

    # -- what the screen shows ----------------------------------------------------------------

    def shown(self) -> list[Shown]:
        return log_page.shown(self)

    def older(self) -> bool:
        return log_page.older(self)

    def status(self, width: int) -> str:
        return status_line.status(self, width)

    def idle(self) -> ChatSession:
        """The session, if a chat action may use it now."""
        if self.session is None:
            raise Refused(LOADING)
        if self.busy:
            raise Refused(BUSY)
        return self.session

    # -- replies ------------------------------------------------------------------------------

    def send(self, text: str) -> None:
        text = text.strip()
        session = self.idle()
        if text:
            self._run_reply(lambda sampling: session.send(text, sampling))

    def regenerate(self) -> None:
        self._run_reply(self.idle().regenerate)

    def continue_(self) -> None:
        self._run_reply(self.idle().continue_reply)

    def _run_reply(self, start: Callable[..., Reply]) -> None:
        self.busy, self._stop_asked = True, False
        self.background(lambda: self._stream_reply(start), "reply")

    def finished(self) -> None:
        """The screen has shown the end of a run: chat actions may use the session again (and a
        chat its first line has just stored is the one to relaunch into)."""
        self.busy = False
        self._remember()

    def _stream_reply(self, start: Callable[..., Reply]) -> None:
        """Start the reply (assembling the prompt may wait for the engine), then forward it in
        frame-sized batches, read once per frame: one wake-up and one UI update per frame."""
        try:
            self._stream(start)
        finally:
            self.reply = None

    def _stream(self, start: Callable[..., Reply]) -> None:
        assert self.session is not None
        speaker = self.session.sheet.name
        try:
            reply = start(sampling_from(self.settings, seed=None, max_tokens=None))
        except LoreweaverError as exc:
            self.emit(ReplyFailed(str(exc)))
            return
        self.reply = reply
        if self._stop_asked:
            reply.cancel()
        self.emit(ReplyStarted(speaker, reply.prefix))
        for evaluated, total in reply.prompt_progress(FRAME_S):
            self.emit(ReplyProgress(evaluated, total))
        error = None
        try:
            for text in reply.frames(FRAME_S):
                self.emit(ReplyChunk(text))
        except LoreweaverError as exc:
            error = str(exc)
        try:
            reply.finish()
        except LoreweaverError as exc:
            error = error or str(exc)
        if error is not None:
            self.emit(ReplyFailed(error))
            return
        self.last_stats = status_line.figures(reply, self.engine)
        self.emit(ReplyDone(reply.stats))

    def impersonate(self) -> None:
        """The model drafts the user's next line, streamed as `DraftChunk`s (not stored)."""
        session = self.idle()
        self.busy, self._stop_asked = True, False
        self.background(lambda: self._stream_draft(session), "reply")

    def _stream_draft(self, session: ChatSession) -> None:
        try:
            self.draft = session.impersonate(
                sampling_from(self.settings, seed=None, max_tokens=None)
            )
            if self._stop_asked:
                self.draft.cancel()
            for text in self.draft.batches(FRAME_S):
                self.emit(DraftChunk(text))
        except LoreweaverError as exc:
            self.draft = None
            self.emit(ReplyFailed(str(exc)))
            return
        self.draft = None
        self.emit(DraftChunk("", done=True))

    def stop(self) -> None:
        self._stop_asked = True
        if self.reply is not None:
            self.reply.cancel()
        if self.draft is not None:
            self.draft.cancel()

    # -- one message: swipe, edit, delete, branch; undo ------------------------------------------

    def index(self, index: int) -> int:
        """`index` of the history, negative counting from the end (the last message is -1)."""
        session = self.idle()
        if not session.history:
            raise LoreweaverError("the chat is empty")
        return index + len(session.history) if index < 0 else index

    def act_on(self, index: int, action: str, step: int = 0) -> None:
        """`action` (swipe, delete, branch) on message `index` (negative: from the end)."""
        index = self.index(index)
        session = self.idle()
        if action == "swipe":
            n, of = session.swipe_position(index)
            last = index == len(session.history) - 1 and index > 0
            if step > 0 and n == of and last and session.history[index].role == "assistant":
                self.regenerate()  # past the last swipe: a new one, as in SillyTavern
            else:
                session.swipe(step, index)
        elif action == "delete":
            session.delete(index)
        elif action == "branch":
            session.branch(index)
            self._opened()
        else:
            raise LoreweaverError(f"unknown message action {action!r}")

    def message_at(self, index: int) -> tuple[str, str]:
        """(speaker, text) of message `index`."""
        session = self.idle()
        message = session.history[self.index(index)]
        mine = message.role == "user"
        return (session.user if mine else session.sheet.name), message.content

    def edit(self, index: int, text: str) -> None:
        self.idle().edit(self.index(index), text)

    def what_delete_takes(self, index: int) -> str:
        session = self.idle()
        index = self.index(index)
        return after(len(session.history) - index - 1)

    def undo_delete(self) -> None:
        session = self.idle()
        if self.store is None or session.chat is None:
            raise LoreweaverError("nothing to undo: this chat has no saved line yet")
        self.store.restore_deleted(session.chat.id)
        session.reload()

    def set_persona(self, name: str, description: str) -> None:
        self.idle().set_persona(name, description)
