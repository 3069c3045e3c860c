"""The Loreweaver terminal app: pick a character, chat, watch the reply stream in.

The engine loads in a thread worker while the UI is already usable; replies are generated in a
thread worker that posts batched chunks, so typing and Esc stay responsive while tokens stream.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Header, Input, ListItem, ListView, Static

from app.engine.base import Engine
from app.engine.modelinfo import ModelInfo
from app.errors import LoreweaverError
from app.home import Home, home
from app.memory.store import ChatStore
from app.session import ChatSession, Reply, greeting, open_chat, sampling_from
from app.settings import Settings, load_settings
from app.sheets import library
from app.sheets.sheet import Sheet
from app.tui.messages import EngineFailed, EngineReady, ReplyChunk, ReplyDone
from app.tui.widgets.chat_log import ChatLog, ChatMessage

EngineLoader = Callable[[ModelInfo, Settings], Engine]
FRAME_S = 1 / 30


def _load_llama(info: ModelInfo, settings: Settings) -> Engine:
    from app.engine.llamacpp import load_engine

    return load_engine(info, n_threads=settings.n_threads, n_ctx_cap=settings.n_ctx)


class LoreweaverApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "Loreweaver"
    BINDINGS = [
        Binding("escape", "stop", "Stop reply"),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(self, where: Home | None = None, *, loader: EngineLoader | None = None) -> None:
        super().__init__()
        self.where = where or home()
        self.loader = loader or _load_llama
        self.engine: Engine | None = None
        self.session: ChatSession | None = None
        self.reply: Reply | None = None
        self.store: ChatStore | None = None
        self.streaming: ChatMessage | None = None
        self.current_sheet: Sheet | None = None
        self.current_id: str | None = None
        self.settings = Settings()

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            yield ListView(id="characters")
            with Vertical(id="chat"):
                yield ChatLog(id="log")
                yield Input(placeholder="Say something… (Enter to send, Esc to stop)", id="say")
        yield Static("loading model…", id="status")
        yield Footer()

    def on_mount(self) -> None:
        try:
            self.settings = load_settings(self.where)
            self.store = ChatStore.open(self.where.ensure())
        except LoreweaverError as exc:
            self.notify(str(exc), severity="error")
        characters = self.query_one("#characters", ListView)
        for entry in library.entries(self.where):
            characters.append(ListItem(Static(entry.id), name=entry.id))
        characters.index = 0 if characters.children else None
        self.load_model()

    @work(thread=True, exclusive=True, group="engine")
    def load_model(self) -> None:
        from app.engine.registry import resolve_model

        try:
            info = resolve_model(self.where, self.settings.model)
            engine = self.loader(info, self.settings)
        except LoreweaverError as exc:
            self.post_message(EngineFailed(str(exc)))
            return
        self.post_message(EngineReady(engine, f"{info.name} ({info.id})"))

    def on_engine_ready(self, message: EngineReady) -> None:
        self.engine = message.engine
        self.query_one("#status", Static).update(f"model: {message.label}")
        self._start_chat()

    def on_engine_failed(self, message: EngineFailed) -> None:
        self.query_one("#status", Static).update("no model loaded")
        self.notify(message.error, severity="error", timeout=10)

    @on(ListView.Highlighted, "#characters")
    def _character_chosen(self, event: ListView.Highlighted) -> None:
        if event.item is not None and event.item.name:
            self._open_character(event.item.name)

    def _open_character(self, character: str) -> None:
        try:
            _, sheet = library.load(self.where, character)
        except LoreweaverError as exc:
            self.notify(str(exc), severity="error")
            return
        self.current_sheet = sheet
        self.current_id = character
        log = self.query_one(ChatLog)
        log.remove_children()
        hello = greeting(sheet, self.settings.user_name)
        if hello:
            log.add(sheet.name, hello, mine=False)
        self.session = None
        self._start_chat()

    def _start_chat(self) -> None:
        sheet, character = self.current_sheet, self.current_id
        if self.engine is None or sheet is None or character is None or self.session is not None:
            return
        from app.engine.registry import resolve_model
        from app.prompts.formats import choose_format

        user = self.settings.user_name
        try:
            info = resolve_model(self.where, self.settings.model)
            fmt = choose_format(self.settings.template, info)
            chat, history = None, []
            if self.store is not None:
                resume = True if self.store.latest_chat(character) else None
                chat, history = open_chat(self.store, character, sheet, user=user, resume=resume)
        except LoreweaverError as exc:
            self.notify(str(exc), severity="error")
            return
        self.session = ChatSession(
            sheet,
            fmt,
            self.engine,
            user=user,
            user_description=self.settings.user_description,
            history=history,
            store=self.store,
            chat=chat,
            model_name=info.path.name,
        )
        log = self.query_one(ChatLog)
        log.remove_children()
        for message in history:
            mine = message.role == "user"
            log.add(user if mine else sheet.name, message.content, mine=mine)

    @on(Input.Submitted, "#say")
    def _send(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            return
        if self.session is None:
            self.notify("The model is still loading.", severity="warning")
            return
        if self.reply is not None:
            self.notify("Wait for the reply, or press Esc to stop it.", severity="warning")
            return
        event.input.value = ""
        log = self.query_one(ChatLog)
        log.add(self.session.user, text, mine=True)
        self.streaming = log.add(self.session.sheet.name, "", mine=False)
        sampling = sampling_from(self.settings, seed=None, max_tokens=None)
        try:
            self.reply = self.session.send(text, sampling)
        except LoreweaverError as exc:
            self.notify(str(exc), severity="error")
            return
        self.stream_reply(self.reply)

    @work(thread=True, group="reply")
    def stream_reply(self, reply: Reply) -> None:
        """Forward the reply in frame-sized batches: one UI update per frame, not per token."""
        batch: list[str] = []
        last = time.monotonic()
        for piece in reply:
            batch.append(piece)
            now = time.monotonic()
            if now - last >= FRAME_S:
                self.post_message(ReplyChunk("".join(batch)))
                batch.clear()
                last = now
        if batch:
            self.post_message(ReplyChunk("".join(batch)))
        reply.finish()
        self.post_message(ReplyDone(reply.stats))

    def on_reply_chunk(self, message: ReplyChunk) -> None:
        if self.streaming is not None:
            self.streaming.append(message.text)

    def on_reply_done(self, message: ReplyDone) -> None:
        self.reply = None
        self.streaming = None
        stats = message.stats
        first = f"{stats.first_token_s:.2f}s" if stats.first_token_s is not None else "-"
        self.query_one("#status", Static).update(
            f"first token {first} · {stats.tokens_per_s:.1f} tok/s · {stats.finish_reason}"
        )

    def action_stop(self) -> None:
        if self.reply is not None:
            self.reply.cancel()

    def on_unmount(self) -> None:
        if self.reply is not None:
            self.reply.cancel()
        if self.engine is not None:
            self.engine.close()
        if self.store is not None:
            self.store.close()
