"""The Loreweaver terminal app: pick a character, chat, watch the reply stream in.

A thin view over the domain (`app.session`, the chat store, the library): every action here is
a call into it. The engine loads in a thread worker while the UI is already usable; replies are
generated in a thread worker that posts chunks batched to screen frames, so typing, scrolling
and Esc stay responsive while tokens stream. While a reply streams, the session belongs to that
worker: other chat actions wait for it (or for Esc).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, ListItem, ListView, ProgressBar, Static

from app.engine.base import Engine
from app.engine.modelinfo import ModelInfo
from app.errors import LoreweaverError
from app.memory.store import ChatStore
from app.session import SHOWN_CHARS, SHOWN_PAGE, greetings, visible_path
from app.session_start import start_session
from app.settings import load_settings
from app.sheets import library
from app.tui.app_state import BUSY
from app.tui.chat_tree import ChatTreeActions
from app.tui.compositor import ChatScreen
from app.tui.dialogs import DialogActions
from app.tui.messages import EngineFailed, EngineReady
from app.tui.palette import app_commands
from app.tui.replies import ReplyActions
from app.tui.streaming import settle_memory
from app.tui.theme import follow_theme
from app.tui.widgets.chat_log import ChatLog, Shown
from app.tui.widgets.line_input import LineInput

PLACEHOLDER = "Say something… (Enter sends, Esc stops, Ctrl+←/→ swipes)"
CHAT_ACTIONS = frozenset({
    "stop", "regenerate", "continue_reply", "swipe", "impersonate", "context", "model_settings",
    "persona", "new_chat", "library", "edit_character",
})
"""App actions that act on the chat screen, so only its footer shows them."""


class LoreweaverApp(ReplyActions, ChatTreeActions, DialogActions):
    CSS_PATH = Path(__file__).with_name("app.tcss")
    """Absolute, so that subclasses defined elsewhere (the TUI benchmark) find it too."""
    TITLE = "Loreweaver"
    BINDINGS = [
        # The footer lists these in order (priority ones first) and cuts what does not fit:
        # at 80 columns the way to other screens and to help must come before the chat actions.
        Binding("f1,question_mark", "help", "Help"),
        Binding("ctrl+o", "library", "Library"),
        Binding("f5", "edit_character", "Edit"),
        Binding("escape", "stop", "Stop"),
        Binding("ctrl+r", "regenerate", "Regenerate"),
        Binding("ctrl+t", "continue_reply", "Continue"),
        Binding("ctrl+y", "impersonate", "Impersonate"),
        Binding("f4", "context", "Context"),
        Binding("f2", "model_settings", "Model"),
        Binding("f3", "persona", "Persona", show=False),
        Binding("ctrl+n", "new_chat", "New chat", show=False),
        # Priority (the input box would take them as word moves); named in the box's placeholder.
        Binding("ctrl+left", "swipe(-1)", "◀ Swipe", priority=True, show=False),
        Binding("ctrl+right", "swipe(1)", "Swipe ▶", priority=True, show=False),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    # -- layout and start-up ---------------------------------------------------------------

    def get_default_screen(self) -> Screen[None]:
        return ChatScreen()

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            yield ListView(id="characters")
            with Vertical(id="chat"):
                yield ChatLog(id="log")
                yield LineInput(placeholder=PLACEHOLDER, id="say")
        with Horizontal(id="statusbar"):
            yield Static("", id="status")
            yield ProgressBar(total=None, show_eta=False, show_percentage=False, id="loading")
        yield Footer()

    def on_mount(self) -> None:
        try:
            self.settings = load_settings(self.where)
            self.store = ChatStore.open(self.where.ensure())
        except LoreweaverError as exc:
            self.notify(str(exc), severity="error")
        follow_theme(self)
        characters = self.query_one("#characters", ListView)
        for entry in library.entries(self.where):
            characters.append(ListItem(Static(entry.id), name=entry.id))
        first = characters.children[0] if characters.children else None
        if isinstance(first, ListItem) and first.name:
            characters.index = 0
            self.open_character(first.name)
        self.query_one("#say", Input).focus()
        self.load_model()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Ctrl+←/→ swipe, except while typing a line: then they move the cursor by words.
        Over another screen (library, editor, dialogs) the chat's keys are off and not shown."""
        if action in CHAT_ACTIONS and len(self.screen_stack) > 1:
            return False
        if action == "swipe":
            focused = self.focused
            if isinstance(focused, Input) and focused.value:
                return False
        return True

    def on_resize(self) -> None:
        self.set_class(self.size.width < 100, "narrow")
        if self.query("#status"):
            self._show_status()

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield from app_commands(self, screen)

    # -- the model -------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="engine")
    def load_model(self, previous: Engine | None = None) -> None:
        from app.engine.registry import resolve_model

        if previous is not None:
            previous.close()
        try:
            info = resolve_model(self.where, self.settings.model)
            self.call_from_thread(self._show_loading, info)
            engine = self.loader(info, self.settings)
        except LoreweaverError as exc:
            self.post_message(EngineFailed(str(exc)))
            return
        self.post_message(EngineReady(engine, info))

    def _show_loading(self, info: ModelInfo) -> None:
        self._loading(True)
        self._show_status(f"loading {info.name} ({info.file_size / 1e6:,.0f} MB)…")

    def _loading(self, shown: bool) -> None:
        """Show or hide the loading bar. Hidden, it is also stopped: its animation would
        otherwise keep redrawing 15 times a second, CPU taken from the model."""
        bar = self.query_one("#loading", ProgressBar)
        bar.display = shown
        bar.update(total=None if shown else 1, progress=0 if shown else 1)

    def on_engine_ready(self, message: EngineReady) -> None:
        self.engine, self.model = message.engine, message.info
        self._loading(False)
        self._start_chat()
        self._show_status()
        self.call_after_refresh(settle_memory)

    def on_engine_failed(self, message: EngineFailed) -> None:
        self._loading(False)
        self._show_status("no model loaded (F2 to choose one)")
        self.notify(message.error, severity="error", timeout=10)

    # -- characters and chats --------------------------------------------------------------

    @on(ListView.Selected, "#characters")
    def _character_chosen(self, event: ListView.Selected) -> None:
        if event.item.name and event.item.name != self.current_id:
            self.open_character(event.item.name)

    def open_character(
        self, character: str, chat_id: int | None = None, *, new: bool = False
    ) -> None:
        """Show `character`'s chat: `chat_id`, a new one, or (default) their latest."""
        if self.busy:
            self.notify(BUSY, severity="warning")
            return
        try:
            _, sheet = library.load(self.where, character)
        except LoreweaverError as exc:
            self.notify(str(exc), severity="error")
            return
        self.current_sheet, self.current_id = sheet, character
        self.wanted_chat = chat_id
        self._drop_session()
        self._new_chat = new
        self.sub_title = sheet.name
        self._preview_chat()
        self._start_chat()

    def _preview_chat(self) -> None:
        """Before the model is ready: the chat that will open, read only."""
        sheet, character = self.current_sheet, self.current_id
        if sheet is None or character is None:
            return
        user = self.settings.user_name
        shown: list[Shown] = []
        chat = None
        if self.store is not None and not self._new_chat:
            try:
                chat = (
                    self.store.get_chat(self.wanted_chat)
                    if self.wanted_chat is not None
                    else self.store.latest_chat(character)
                )
            except LoreweaverError:
                chat = None
        if chat is not None and self.store is not None:
            path = visible_path(self.store, chat.id)
            start = max(len(path) - SHOWN_PAGE, 0)
            for m, message_id in zip(path.page(start, len(path), SHOWN_CHARS), path.ids[start:],
                                     strict=True):
                mine = m.role == "user"
                speaker = chat.user_name if mine else sheet.name
                shown.append(Shown(message_id, speaker, m.content, mine))
        else:
            shown = [Shown(None, sheet.name, text, False) for text in greetings(sheet, user)[:1]]
        self.query_one(ChatLog).show(shown)

    def _start_chat(self) -> None:
        sheet, character = self.current_sheet, self.current_id
        if self.engine is None or self.model is None or sheet is None or character is None:
            return
        if self.session is not None:
            return
        from app.prompts.formats import choose_format

        resume: int | bool | None = self.wanted_chat
        if resume is None and not self._new_chat and self.store is not None:
            resume = True if self.store.latest_chat(character) else None
        try:
            fmt = choose_format(self.settings.template, self.model)
            self.session = start_session(
                self.engine,
                self.model,
                fmt,
                sheet,
                character,
                self.settings,
                store=self.store,
                resume=resume,
                home=self.where,
            )
            if resume is not None:  # the saved KV cache, if any, loads off the UI thread
                self.run_worker(self.session.restore_cache, thread=True, group="engine-state")
        except LoreweaverError as exc:
            self.notify(str(exc), severity="error")
            return
        self._new_chat = False
        self._refresh_log()
        self._show_status()

    def action_new_chat(self) -> None:
        if self.current_id is not None:
            self.open_character(self.current_id, new=True)

    def _drop_session(self) -> None:
        """Leave the current chat: its summaries stop and its KV cache is saved, off the UI."""
        session, self.session = self.session, None
        if session is not None:
            self.run_worker(session.close, thread=True, group="engine-state")

    def on_unmount(self) -> None:
        self.action_stop()
        if self.session is not None:
            self.session.close()
        if self.engine is not None:
            self.engine.close()
        if self.store is not None:
            self.store.close()


