"""What the app's parts share: the chat screen's state, and the helpers every action uses.

The app is assembled from parts by what they do (`replies`, `chat_tree`, `dialogs`, and `app`
itself for start-up, the model and opening chats); each part is a class over this one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.app import App
from textual.widgets import Static

from app.engine.base import Engine, Generation
from app.engine.modelinfo import ModelInfo
from app.home import Home, home
from app.memory.store import ChatStore
from app.reply import Reply
from app.session import SHOWN_PAGE, ChatSession
from app.settings import Settings
from app.sheets.sheet import Sheet
from app.tui.widgets.chat_log import ChatLog, Shown
from app.tui.widgets.live_reply import LiveReply

MODEL_NAME_CHARS = 24
"""The status bar shortens longer model names (the reply's figures must stay visible)."""

BUSY = "Wait for the reply, or press Esc to stop it."
"""What a chat action says while a worker owns the session."""

EngineLoader = Callable[[ModelInfo, Settings], Engine]


def _load_llama(info: ModelInfo, settings: Settings) -> Engine:
    from app.engine.llamacpp import load_engine

    return load_engine(info, n_threads=settings.n_threads, n_ctx_cap=settings.n_ctx)


class AppState(App[None]):
    """The state every part reads and writes, and the helpers they share."""

    def __init__(self, where: Home | None = None, *, loader: EngineLoader | None = None) -> None:
        super().__init__()
        self.where = where or home()
        self.loader = loader or _load_llama
        self.engine: Engine | None = None
        self.model: ModelInfo | None = None
        self.session: ChatSession | None = None
        self.reply: Reply | None = None
        self.draft: Generation | None = None
        self.busy = False
        """A worker owns the session (a reply or a draft is being generated)."""
        self.store: ChatStore | None = None
        self.streaming: LiveReply | None = None
        self.current_sheet: Sheet | None = None
        self.current_id: str | None = None
        self.wanted_chat: int | None = None
        """The chat to open once the model is ready (None: the character's latest)."""
        self.settings = Settings()
        self.last_stats = ""
        self._new_chat = False
        self._stop_asked = False
        self.log_size = SHOWN_PAGE
        """How many of the chat's last messages the log shows (grows as older ones page in)."""
        self.log_offset = 0
        """History index of the log's first block."""

    def _idle_session(self) -> ChatSession | None:
        if self.session is None:
            self.notify("The model is still loading.", severity="warning")
            return None
        if self.busy:
            self.notify(BUSY, severity="warning")
            return None
        return self.session

    def _shown(self) -> list[Shown]:
        session = self.session
        if session is None:
            return []
        shown: list[Shown] = []
        self.log_offset = max(len(session.history) - self.log_size, 0)
        for message, message_id in session.page(self.log_offset):
            index = len(shown) + self.log_offset
            mine = message.role == "user"
            swipe = None
            if message_id is not None and not mine:
                swipe = session.swipe_position(index)
            speaker = session.user if mine else session.sheet.name
            shown.append(Shown(message_id, speaker, message.content, mine, swipe))
        return shown

    def _refresh_log(self) -> None:
        self.query_one(ChatLog).show(self._shown())

    def on_chat_log_older(self) -> None:
        """Scrolled to the top of the log: page in older messages, if there are any."""
        if self.session is not None and self.log_offset > 0:
            self.log_size += SHOWN_PAGE
            self._refresh_log()

    def _show_status(self, text: str | None = None) -> None:
        if text is None:
            parts = []
            if self.model is not None and self.engine is not None:
                fmt = self.session.fmt.id if self.session is not None else "?"
                name = self.model.name
                if len(name) > MODEL_NAME_CHARS:
                    name = name[: MODEL_NAME_CHARS - 1] + "…"
                if self.size.width >= 100:
                    parts.append(name)
                parts.append(fmt)
            if self.session is not None and self.session.user:
                parts.append(f"you: {self.session.user}")
            if self.last_stats:
                parts.append(self.last_stats)
            elif self.engine is not None:
                parts.append(f"ctx {self.engine.n_ctx}")
            text = " · ".join(parts)
        self.query_one("#status", Static).update(text)

    if TYPE_CHECKING:  # defined by the parts, called across them

        def open_character(
            self, character: str, chat_id: int | None = None, *, new: bool = False
        ) -> None: ...

        def load_model(self, previous: Engine | None = None) -> None: ...

        def _drop_session(self) -> None: ...

        def _reply(self, start: Callable[..., Reply]) -> None: ...

        def _change_tree(self, change: Callable[[], object]) -> None: ...
