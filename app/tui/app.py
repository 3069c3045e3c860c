"""The Loreweaver terminal app: pick a character, chat, watch the reply stream in.

A thin view over the domain (`app.session`, the chat store, the library): every action here is
a call into it. The engine loads in a thread worker while the UI is already usable; replies are
generated in a thread worker that posts chunks batched to screen frames, so typing, scrolling
and Esc stay responsive while tokens stream. While a reply streams, the session belongs to that
worker: other chat actions wait for it (or for Esc).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, ListItem, ListView, ProgressBar, Static

from app.engine.base import Engine, Generation
from app.engine.modelinfo import ModelInfo
from app.errors import LoreweaverError
from app.home import Home, home
from app.memory.store import ChatStore
from app.session import ChatSession, Reply, greetings, sampling_from, start_session, visible_path
from app.settings import Settings, load_settings, save_settings
from app.sheets import library
from app.sheets.sheet import Sheet
from app.tui.messages import (
    DraftChunk,
    EngineFailed,
    EngineReady,
    ReplyChunk,
    ReplyDone,
    ReplyFailed,
    ReplyStarted,
)
from app.tui.screens.context import ContextScreen
from app.tui.screens.edit_message import EditMessageScreen
from app.tui.screens.help import HelpScreen
from app.tui.screens.library import Choice, LibraryScreen
from app.tui.screens.model_settings import ModelSettingsScreen
from app.tui.screens.persona import PersonaScreen
from app.tui.theme import follow_theme
from app.tui.widgets.chat_log import ChatLog, ChatMessage, Shown
from app.tui.widgets.line_input import LineInput

PLACEHOLDER = "Say something… (Enter sends, Esc stops, Ctrl+←/→ swipes)"
MODEL_NAME_CHARS = 24
"""The status bar shortens longer model names (the reply's figures must stay visible)."""

CHAT_ACTIONS = frozenset({
    "stop", "regenerate", "continue_reply", "swipe", "impersonate", "context", "model_settings",
    "persona", "new_chat", "library", "edit_character",
})
"""App actions that act on the chat screen, so only its footer shows them."""

EngineLoader = Callable[[ModelInfo, Settings], Engine]
FRAME_S = 1 / 10
"""How often a streaming reply is redrawn: smooth to read, and every redraw is CPU the model
(which has all the cores) does not get."""


def _load_llama(info: ModelInfo, settings: Settings) -> Engine:
    from app.engine.llamacpp import load_engine

    return load_engine(info, n_threads=settings.n_threads, n_ctx_cap=settings.n_ctx)


class LoreweaverApp(App[None]):
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
        self.streaming: ChatMessage | None = None
        self.current_sheet: Sheet | None = None
        self.current_id: str | None = None
        self.wanted_chat: int | None = None
        """The chat to open once the model is ready (None: the character's latest)."""
        self.settings = Settings()
        self.last_stats = ""
        self._new_chat = False
        self._stop_asked = False

    # -- layout and start-up ---------------------------------------------------------------

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
        yield SystemCommand("Help", "The keys of this screen", self.action_help)
        if screen is self.screen_stack[0]:
            yield SystemCommand(
                "Library", "Browse, import and manage characters", self.action_library
            )
            yield SystemCommand(
                "Edit character", "Every field and the lorebook of the current character",
                self.action_edit_character,
            )
        yield SystemCommand(
            "Regenerate", "A new reply, kept as another swipe", self.action_regenerate
        )
        yield SystemCommand("Continue", "More of the last reply", self.action_continue_reply)
        yield SystemCommand("Swipe left", "The previous alternative", lambda: self.action_swipe(-1))
        yield SystemCommand("Swipe right", "The next alternative", lambda: self.action_swipe(1))
        yield SystemCommand("Impersonate", "Draft your next line", self.action_impersonate)
        yield SystemCommand("Stop", "Stop the reply being written", self.action_stop)
        yield SystemCommand("Edit last message", "Rewrite it", lambda: self._act_on(-1, "edit"))
        yield SystemCommand(
            "Delete last message", "And everything after it", lambda: self._act_on(-1, "delete")
        )
        yield SystemCommand(
            "Branch from last message",
            "A new chat up to here",
            lambda: self._act_on(-1, "branch"),
        )
        yield SystemCommand("New chat", "With the current character", self.action_new_chat)
        yield SystemCommand("Persona", "Who you are in this chat", self.action_persona)
        yield SystemCommand("Context", "What the prompt is made of", self.action_context)
        yield SystemCommand(
            "Model and sampling", "Model, format, sampler", self.action_model_settings
        )

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
            self.notify("Wait for the reply, or press Esc to stop it.", severity="warning")
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
            for m in visible_path(self.store, chat.id):
                mine = m.role == "user"
                shown.append(Shown(m.id, chat.user_name if mine else sheet.name, m.content, mine))
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


    def _shown(self) -> list[Shown]:
        session = self.session
        if session is None:
            return []
        shown = []
        for index, message in enumerate(session.history):
            mine = message.role == "user"
            swipe = None
            message_id = session.ids[index] if index < len(session.ids) else None
            if message_id is not None and not mine:
                swipe = session.swipe_position(index)
            speaker = session.user if mine else session.sheet.name
            shown.append(Shown(message_id, speaker, message.content, mine, swipe))
        return shown

    def _refresh_log(self) -> None:
        self.query_one(ChatLog).show(self._shown())

    def action_new_chat(self) -> None:
        if self.current_id is not None:
            self.open_character(self.current_id, new=True)

    # -- replies ---------------------------------------------------------------------------

    def _idle_session(self) -> ChatSession | None:
        if self.session is None:
            self.notify("The model is still loading.", severity="warning")
            return None
        if self.busy:
            self.notify("Wait for the reply, or press Esc to stop it.", severity="warning")
            return None
        return self.session

    @on(Input.Submitted, "#say")
    def _send(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        session = self._idle_session() if text else None
        if session is None:
            return
        event.input.value = ""
        log = self.query_one(ChatLog)
        log.add(Shown(None, session.user, text, True))
        self._reply(lambda sampling: session.send(text, sampling))

    def action_regenerate(self) -> None:
        session = self._idle_session()
        if session is not None:
            self._reply(session.regenerate)

    def action_continue_reply(self) -> None:
        session = self._idle_session()
        if session is not None:
            self._reply(session.continue_reply)

    def _reply(self, start: Callable[..., Reply]) -> None:
        self.busy = True
        self.query_one("#say", LineInput).hold_cursor(True)
        self._stop_asked = False
        self.stream_reply(start)


    @work(thread=True, group="reply")
    def stream_reply(self, start: Callable[..., Reply]) -> None:
        """Start the reply here (assembling the prompt may wait for the engine), then forward
        it in frame-sized batches: one UI update per frame, not per token."""
        try:
            reply = start(sampling_from(self.settings, seed=None, max_tokens=None))
        except LoreweaverError as exc:
            self.post_message(ReplyFailed(str(exc)))
            return
        self.reply = reply
        if self._stop_asked:
            reply.cancel()
        self.post_message(ReplyStarted(reply.prefix))
        error = None
        try:
            for text in frames(reply):
                self.post_message(ReplyChunk(text))
        except LoreweaverError as exc:
            error = str(exc)
        try:
            reply.finish()
        except LoreweaverError as exc:
            error = error or str(exc)
        if error is not None:
            self.post_message(ReplyFailed(error))
            return
        self.post_message(ReplyDone(reply.stats))

    def on_reply_started(self, message: ReplyStarted) -> None:
        assert self.session is not None
        self._refresh_log()
        self.streaming = self.query_one(ChatLog).add(
            Shown(None, self.session.sheet.name, message.prefix, False), live=True
        )

    def on_reply_chunk(self, message: ReplyChunk) -> None:
        if self.streaming is not None:
            self.streaming.append(message.text)

    def on_reply_done(self, message: ReplyDone) -> None:
        self._end_reply()
        stats = message.stats
        first = f"{stats.first_token_s:.2f}s" if stats.first_token_s is not None else "-"
        used = stats.prompt_tokens + stats.completion_tokens
        self.last_stats = (
            f"ctx {used}/{self.engine.n_ctx if self.engine else '?'} · first {first} · "
            f"{stats.tokens_per_s:.1f} tok/s · {stats.finish_reason}"
        )
        self._show_status()

    def on_reply_failed(self, message: ReplyFailed) -> None:
        self._end_reply()
        self.notify(message.error, severity="error", timeout=8)

    def _end_reply(self) -> None:
        self.reply = None
        self.streaming = None
        self.busy = False
        self.query_one("#say", LineInput).hold_cursor(False)
        if self.session is not None:
            self._refresh_log()
        self.call_after_refresh(settle_memory)

    def action_stop(self) -> None:
        self._stop_asked = True
        if self.reply is not None:
            self.reply.cancel()
        if self.draft is not None:
            self.draft.cancel()

    def action_impersonate(self) -> None:
        session = self._idle_session()
        if session is None:
            return
        self.busy = True
        self._stop_asked = False
        box = self.query_one("#say", Input)
        box.value = ""
        box.focus()
        self.stream_draft(session)

    @work(thread=True, group="reply")
    def stream_draft(self, session: ChatSession) -> None:
        """The model's draft of the user's line, streamed into the input box for editing."""
        try:
            self.draft = session.impersonate(
                sampling_from(self.settings, seed=None, max_tokens=None)
            )
            if self._stop_asked:
                self.draft.cancel()
            for text in frames(self.draft):
                self.post_message(DraftChunk(text))
            self.post_message(DraftChunk("", done=True))
        except LoreweaverError as exc:
            self.post_message(ReplyFailed(str(exc)))
        finally:
            self.draft = None

    def on_draft_chunk(self, message: DraftChunk) -> None:
        box = self.query_one("#say", Input)
        box.value = (box.value + message.text).lstrip()
        if message.done:
            self.busy = False
            box.value = box.value.strip()
            box.cursor_position = len(box.value)

    # -- the chat tree ---------------------------------------------------------------------

    def action_swipe(self, step: int) -> None:
        self._act_on(-1, "swipe", step)

    @on(ChatMessage.Action)
    def _message_action(self, event: ChatMessage.Action) -> None:
        self._act_on(self.query_one(ChatLog).index_of(event.block), event.action, event.step)

    def _act_on(self, index: int, action: str, step: int = 0) -> None:
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

    # -- dialogs ---------------------------------------------------------------------------

    def action_persona(self) -> None:
        session = self._idle_session()
        if session is None:
            return

        def chosen(persona: tuple[str, str] | None) -> None:
            if persona is not None:
                self._change_tree(lambda: session.set_persona(*persona))
                self._show_status()

        self.push_screen(PersonaScreen(session.user, session.user_description), chosen)

    def action_context(self) -> None:
        session = self._idle_session()
        if session is not None:
            self.explain_context(session)

    @work(thread=True, group="context")
    def explain_context(self, session: ChatSession) -> None:
        assembly = session.assembly()
        used = session.engine.count_tokens(session.fmt.render(assembly.messages))
        self.call_from_thread(self.push_screen, ContextScreen(assembly, used, session.engine.n_ctx))

    def action_library(self) -> None:
        """Only from the chat screen: over an editor, choosing a character would bury it."""
        if self.screen is not self.screen_stack[0]:
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

        if self.screen is not self.screen_stack[0]:
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
                chat = self.session.chat if self.session is not None else None
                self.open_character(entry.id, chat.id if chat is not None else None)

        self.push_screen(EditorScreen(self.where, entry, sheet), closed)

    async def action_quit(self) -> None:
        """Quit, unless an editor holds unsaved changes: then it asks first."""
        from app.tui.screens.editor import EditorScreen

        editors = [s for s in self.screen_stack if isinstance(s, EditorScreen) and s.dirty]
        if not editors:
            self.exit()
        elif self.screen is editors[-1]:
            editors[-1].confirm_leave(self.exit)
        else:
            self.notify("The editor has unsaved changes: close this dialog first.",
                        severity="warning")

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen.for_screen(self.screen))

    def action_model_settings(self) -> None:
        if self.busy:
            self.notify("Wait for the reply, or press Esc to stop it.", severity="warning")
            return
        from app.engine.registry import discover

        def chosen(settings: Settings | None) -> None:
            if settings is None:
                return
            old, self.settings = self.settings, settings
            try:
                save_settings(self.where, settings)
            except LoreweaverError as exc:
                self.notify(str(exc), severity="error")
            reload = (old.model, old.template, old.n_ctx, old.n_threads) != (
                settings.model,
                settings.template,
                settings.n_ctx,
                settings.n_threads,
            )
            if reload:
                self._drop_session()
                previous, self.engine = self.engine, None
                self.load_model(previous)
            self.notify("Settings saved.")

        self.push_screen(ModelSettingsScreen(self.settings, discover(self.where)), chosen)

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


def settle_memory() -> None:
    """Collect garbage now, while nothing streams, then set the survivors aside.

    Python's full collection walks every object (the app, Textual, the model's wrapper): a pause
    of 30–60 ms here, holding the interpreter lock, at a random moment, so mid-reply as often as
    not, where it stalls the engine's thread and any key typed. Frozen, the survivors are not
    walked again: collections while the next reply streams see only what it made (≤ 2 ms).
    Unfrozen first, so what was set aside last time and died since is collected, not leaked.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def frames(pieces: Iterable[str], frame_s: float = FRAME_S) -> Iterator[str]:
    """Join pieces that arrive within one frame: what a UI can usefully draw."""
    batch: list[str] = []
    last = time.monotonic()
    for piece in pieces:
        batch.append(piece)
        if time.monotonic() - last >= frame_s:
            yield "".join(batch)
            batch.clear()
            last = time.monotonic()
    if batch:
        yield "".join(batch)
