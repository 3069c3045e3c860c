"""The Loreweaver terminal app: engine loading, settings, the chat store, and which screen shows.

The chat is a screen of its own (`screens/chat.py`) over a Textual-free controller
(`controller.py`); the library, the editor and the model settings are screens the app routes to.
The engine loads in a thread worker while the UI is already usable.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.screen import Screen

from app.engine.base import Engine
from app.errors import LoreweaverError
from app.home import Home, home
from app.memory.store import ChatStore
from app.models import ModelInfo
from app.reply import Reply
from app.session import ChatSession
from app.settings import Settings, engine_threads, load_settings, save_settings
from app.sheets import library
from app.sheets.sheet import Sheet
from app.text import safe_line
from app.tui.controller import BUSY, ChatController
from app.tui.messages import EngineFailed, EngineReady
from app.tui.screens.chat import ChatScreen
from app.tui.screens.help import HelpScreen
from app.tui.streaming import settle_memory
from app.tui.theme import follow_theme
from app.tui.widgets.live_reply import LiveReply

EngineLoader = Callable[[ModelInfo, Settings], Engine]


def _load_llama(info: ModelInfo, settings: Settings) -> Engine:
    from app.engine.loading import load_engine

    return load_engine(info, **engine_threads(settings), n_ctx_cap=settings.n_ctx)


class LoreweaverApp(App[None]):
    CSS_PATH = Path(__file__).with_name("app.tcss")
    """Absolute, so that subclasses defined elsewhere (the TUI benchmark) find it too."""
    TITLE = "Loreweaver"
    BINDINGS = [
        Binding("f1,question_mark", "help", "Help", tooltip="The keys of this screen"),
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("ctrl+g", "group", "Group scene", show=False, tooltip="Several characters at once"),
    ]

    def __init__(self, where: Home | None = None, *, loader: EngineLoader | None = None) -> None:
        super().__init__()
        self.where = where or home()
        self.loader = loader or _load_llama
        self.store: ChatStore | None = None
        self._problems: list[str] = []
        settings = Settings()
        try:
            settings = load_settings(self.where)
            self.store = ChatStore.open(self.where.ensure())
        except LoreweaverError as exc:
            self._problems.append(str(exc))
        self.chat_screen = ChatScreen(self.where, self.store, settings)

    # -- the chat, as the rest of the app (and its tests) see it -------------------------------

    @property
    def chat(self) -> ChatController:
        return self.chat_screen.chat

    @property
    def settings(self) -> Settings:
        return self.chat.settings

    @settings.setter
    def settings(self, settings: Settings) -> None:
        self.chat.settings = settings

    @property
    def engine(self) -> Engine | None:
        return self.chat.engine

    @property
    def model(self) -> ModelInfo | None:
        return self.chat.model

    @property
    def session(self) -> ChatSession | None:
        return self.chat.session

    @property
    def current_id(self) -> str | None:
        return self.chat.character

    @property
    def current_sheet(self) -> Sheet | None:
        return self.chat.sheet

    @property
    def busy(self) -> bool:
        return self.chat.busy

    @property
    def reply(self) -> Reply | None:
        return self.chat.reply

    @property
    def last_stats(self) -> str:
        return self.chat.last_stats

    @property
    def streaming(self) -> LiveReply | None:
        return self.chat_screen.streaming

    def open_character(
        self, character: str, chat_id: int | None = None, *, new: bool = False
    ) -> None:
        """Show `character`'s chat: `chat_id`, a new one, or (default) their latest."""
        self.chat_screen.open_character(character, chat_id, new=new)

    # -- start-up and the model ----------------------------------------------------------------

    def get_default_screen(self) -> Screen[None]:
        return self.chat_screen

    def on_mount(self) -> None:
        for problem in self._problems:
            self.notify(problem, severity="error")
        follow_theme(self)
        self.load_model()

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every notification (they quote names, files and errors) without control characters."""
        super().notify(
            safe_line(message),
            title=safe_line(title),
            severity=severity,
            timeout=timeout,
            markup=markup,
        )

    @work(thread=True, exclusive=True, group="engine")
    def load_model(self, previous: Engine | None = None) -> None:
        from app.engine.loading import resolve_model

        if previous is not None:
            previous.close()
        try:
            info = resolve_model(self.where, self.settings.model)
            self.call_from_thread(
                self.chat_screen.show_loading,
                f"loading {info.name} ({info.file_size / 1e6:,.0f} MB)…",
            )
            engine = self.loader(info, self.settings)
        except LoreweaverError as exc:
            self.post_message(EngineFailed(str(exc)))
            return
        self.post_message(EngineReady(engine, info))

    def on_engine_ready(self, message: EngineReady) -> None:
        if not self.chat_screen.is_attached:  # the app closed while the model loaded
            message.engine.close()
            return
        self.chat_screen.show_loading(None)
        self.chat_screen.attempt(lambda: self.chat.use_engine(message.engine, message.info))
        self.chat_screen.show_status()
        self.call_after_refresh(settle_memory)

    def on_engine_failed(self, message: EngineFailed) -> None:
        if not self.chat_screen.is_attached:
            return
        self.chat_screen.show_loading(None)
        self.chat_screen.show_status("no model loaded (F2 to choose one)")
        self.notify(message.error, severity="error", timeout=10)

    def on_unmount(self) -> None:
        self.chat.close()
        if self.engine is not None:
            self.engine.close()
        if self.store is not None:
            self.store.close()

    # -- routing to the other screens ----------------------------------------------------------

    def _over_chat(self) -> bool:
        """The library and the editor open from the chat only: over an editor they would bury it."""
        return self.screen is self.chat_screen

    def action_library(self) -> None:
        from app.tui.screens.library import Choice, LibraryScreen

        if not self._over_chat():
            return
        library_screen = LibraryScreen(
            self.where, self.store, user=self.settings.user_name, current=self.current_id
        )

        def chosen(choice: Choice | None) -> None:
            if choice is not None:
                self.open_character(choice.character, choice.chat_id, new=choice.new)

        self.push_screen(library_screen, chosen)

    def action_edit_character(self) -> None:
        """F5 on the chat screen (not Ctrl+E: that is end-of-line in the message box)."""
        from app.tui.screens.editor import EditorScreen

        if not self._over_chat():
            return
        if self.current_id is None:
            self.notify("Choose a character first.", severity="warning")
            return
        try:
            entry, sheet = library.load(self.where, self.current_id)
        except LoreweaverError as exc:
            self.notify(str(exc), severity="error")
            return

        def closed(saved: bool | None) -> None:
            if saved and entry.id == self.current_id and not self.busy:
                self.open_character(entry.id, self.chat.wanted_chat)

        self.push_screen(EditorScreen(self.where, entry, sheet), closed)

    def action_group(self) -> None:
        """The group scene screen: pick a cast, then play the scene."""
        from app.tui.screens.group import GroupScreen

        self.push_screen(
            GroupScreen(self.where, self.store, self.settings, lambda: (self.engine, self.model))
        )

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen.for_screen(self.screen))

    def action_model_settings(self) -> None:
        if self.busy:
            self.notify(BUSY, severity="warning")
            return
        from app.engine.remote.resolve import listed_remotes
        from app.models import discover
        from app.tui.screens.model_settings import ModelSettingsScreen

        def chosen(settings: Settings | None) -> None:
            if settings is None:
                return
            old, self.settings = self.settings, settings
            try:
                save_settings(self.where, settings)
            except LoreweaverError as exc:
                self.notify(str(exc), severity="error")
            engine_fields = (
                "model", "template", "n_ctx", "n_threads", "n_threads_batch", "thread_adapt"
            )  # fmt: skip
            if any(getattr(old, f) != getattr(settings, f) for f in engine_fields):
                previous = self.engine
                self.chat.use_engine(None, None)
                self.load_model(previous)
            elif old.model_adapters != settings.model_adapters:  # the chat reopens under them
                engine, model = self.chat.engine, self.chat.model
                self.chat_screen.attempt(lambda: self.chat.use_engine(engine, model))
            self.chat_screen.show_status()
            self.notify("Settings saved.")

        models = discover(self.where) + listed_remotes(self.where)
        self.push_screen(ModelSettingsScreen(self.settings, models, self.where), chosen)

    async def action_quit(self) -> None:
        """Quit, unless an editor holds unsaved changes: then it asks first."""
        from app.tui.screens.editor import EditorScreen
        from app.tui.screens.world_book import WorldBookScreen

        editing = (EditorScreen, WorldBookScreen)
        editors = [s for s in self.screen_stack if isinstance(s, editing) and s.dirty]
        if not editors:
            self.exit()
        elif self.screen is editors[-1]:
            editors[-1].confirm_leave(self.exit)
        else:
            self.notify(
                "The editor has unsaved changes: close this dialog first.", severity="warning"
            )
