"""The chat screen: the side list of characters, the conversation, the message box, the status bar.

A view over `ChatController`, which owns every decision (what opens, whether an action may run,
the reply's life); this module turns keys into its calls and its events into widgets. Focus rules
that keep the keyboard alive: after anything that redraws the log, or opens a chat, focus is in the
message box; a letter typed anywhere on this screen goes there too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Header, ListView, ProgressBar, Static

from app.errors import LoreweaverError
from app.home import Home
from app.memory.store import ChatStore
from app.settings import Settings
from app.sheets import catalog
from app.text import safe_line
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
from app.tui.commands import ScreenActions
from app.tui.compositor import CroppingCompositor
from app.tui.controller import ChatController, Refused
from app.tui.screens import chat_dialogs, chat_options
from app.tui.screens.chat_keys import CHAT_KEYS
from app.tui.status_line import WIDE
from app.tui.streaming import settle_memory
from app.tui.widgets.chat_log import ChatLog, ChatMessage
from app.tui.widgets.composer import Composer
from app.tui.widgets.live_reply import LiveReply
from app.tui.widgets.side_list import CharacterList

T = TypeVar("T")
PLACEHOLDER = "Say something… (Enter sends, Ctrl+J new line, Esc stops, F1 keys)"
REFUSAL_S = 3.0
"""How long a refusal stays up; Esc meanwhile dismisses it instead of stopping the reply."""


class ChatEvent(Message):
    """A controller event, delivered on the UI thread (`event` is one of `app.tui.chat_events`)."""

    def __init__(self, event: ChatEventKind) -> None:
        super().__init__()
        self.event = event


class ChatScreen(Screen[None]):
    COMMANDS = {ScreenActions}
    HELP_GROUPS = {"message": ChatMessage}
    """Keys of a focused message, listed by Help as well."""
    BINDINGS = CHAT_KEYS

    def __init__(self, where: Home, store: ChatStore | None, settings: Settings) -> None:
        super().__init__(id="_default")
        self._compositor = CroppingCompositor()
        self.chat = ChatController(
            where, store, settings, emit=self._emit, background=self._background
        )
        self.streaming: LiveReply | None = None
        self._refusal_up = False
        self._refusal_timer: Timer | None = None
        self._welcome_due = True
        """Until a second chat is opened (the first opens by itself)."""
        self._first_run = settings.last_chat is None and not (store and store.list_chats())

    # -- layout -------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            yield CharacterList(id="characters")
            with Vertical(id="chat"):
                yield Static(id="welcome").set_styles(display="none")  # until the list is read
                yield ChatLog(id="log")
                yield Composer(PLACEHOLDER, id="say")
        with Horizontal(id="statusbar"):
            yield Static("", id="status")
            yield ProgressBar(total=None, show_eta=False, show_percentage=False, id="loading")
        yield Footer(compact=True, show_command_palette=False)  # Ctrl+P is named in Help

    def on_mount(self) -> None:
        first = self.chat.first_chat()
        if first is not None:
            self.open_character(*first)
        self.composer.focus()
        self.call_after_refresh(self._list_characters)  # reads every sheet: after first paint

    def _list_characters(self) -> None:
        self._fill_side_list()
        self._welcome(self._first_run and self._welcome_due)

    @property
    def composer(self) -> Composer:
        return self.query_one("#say", Composer)

    @property
    def log_view(self) -> ChatLog:
        return self.query_one(ChatLog)

    @property
    def side(self) -> CharacterList:
        return self.query_one(CharacterList)

    def _fill_side_list(self) -> None:
        """Characters by name, as the library has them now (after an import, a copy…)."""
        entries = [(summary.id, summary.name) for summary in catalog.summaries(self.chat.where)]
        self.side.show(entries, self.chat.character)

    def _welcome(self, shown: bool) -> None:
        welcome = self.query_one("#welcome", Static)
        welcome.display = shown
        if shown:
            names = " · ".join(safe_line(name) for _, name in self.side.entries)
            welcome.update(
                Text(  # names as typed: a sheet's brackets are not markup
                    f"Welcome to Loreweaver. Who will you talk to? {names}\n"
                    "Pick one in the list (or Ctrl+O, the library); type below to start. "
                    "F1 lists every key."
                )
            )

    def on_screen_resume(self) -> None:
        if self.side.entries:  # back from the library or the editor: a sheet may be new
            self._fill_side_list()
        self.composer.focus()

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.width < WIDE, "narrow")
        self.show_status()

    def show_status(self, text: str | None = None) -> None:
        shown = text if text is not None else self.chat.status(self.size.width)
        self.query_one("#status", Static).update(Content(safe_line(shown)))  # names, not markup

    def show_loading(self, text: str | None) -> None:
        """Show the loading bar with `text`, or (None) hide it. Hidden, it is also stopped: its
        animation would otherwise redraw 15 times a second, CPU taken from the model."""
        bar = self.query_one("#loading", ProgressBar)
        bar.display = text is not None
        bar.update(total=None if text is not None else 1, progress=0 if text is not None else 1)
        if text is not None:
            self.show_status(text)

    # -- talking to the controller ------------------------------------------------------------

    def _emit(self, event: ChatEventKind) -> None:
        self.post_message(ChatEvent(event))

    def _background(self, work: Callable[[], object], group: str) -> None:
        self.run_worker(work, thread=True, group=group)

    def attempt(self, action: Callable[[], object]) -> bool:
        """Run a controller call; a refusal or failure is shown as one line. True if it ran."""
        return self.fetch(lambda: action() or True) is not None

    def fetch(self, call: Callable[[], T]) -> T | None:
        """`call`'s answer, or None once a refusal or failure has been shown."""
        try:
            return call()
        except Refused as exc:
            self._refuse(str(exc))
        except LoreweaverError as exc:
            self.notify(str(exc), severity="warning")
        return None

    def _refuse(self, text: str) -> None:
        self.notify(text, severity="warning", timeout=REFUSAL_S)
        self._refusal_up = True
        if self._refusal_timer is not None:
            self._refusal_timer.stop()
        self._refusal_timer = self.set_timer(REFUSAL_S, self._refusal_gone)

    def _refusal_gone(self) -> None:
        self._refusal_up = False

    def refresh_log(self) -> None:
        """Redraw the log from the chat and put focus in the message box (the focused block may
        have been removed: focus must never rest on a widget that is gone)."""
        self.streaming = None
        self.log_view.show(self.chat.shown())
        self.composer.focus()
        self.show_status()

    def open_character(
        self, character: str, chat_id: int | None = None, *, new: bool = False
    ) -> None:
        """Open a chat (see `ChatController.open`); once one was open, the welcome goes."""
        if self.chat.character is not None:
            self._welcome_due = False
            self._welcome(False)
        if self.attempt(lambda: self.chat.open(character, chat_id, new=new)):
            self.app.sub_title = self.chat.sheet.name if self.chat.sheet else ""
            self.side.mark(self.chat.character)
            self.refresh_log()

    @on(ListView.Selected, "#characters")
    def _character_chosen(self, event: ListView.Selected) -> None:
        if event.item.name and event.item.name != self.chat.character:
            self.open_character(event.item.name)
        self.composer.focus()

    def on_chat_event(self, message: ChatEvent) -> None:
        event = message.event
        if isinstance(event, ReplyChunk):
            if self.streaming is not None:
                self.streaming.append(event.text)
        elif isinstance(event, ChatOpened):
            if event.note:
                self.app.notify(event.note, severity="warning")
            self.side.mark(self.chat.character)
            self.refresh_log()
        elif isinstance(event, ReplyStarted):
            self.log_view.show(self.chat.shown())
            self.streaming = self.log_view.add_live(event.speaker, event.prefix)
        elif isinstance(event, ReplyProgress):
            if self.streaming is not None:
                self.streaming.show_progress(event.evaluated, event.total)
        elif isinstance(event, DraftChunk):
            self._draft(event)
        elif isinstance(event, BackgroundFailed):
            self.notify(event.error, severity="warning", timeout=8)
            self.show_status()
        elif isinstance(event, ReplyDone | ReplyFailed):
            if isinstance(event, ReplyFailed):
                self.notify(event.error, severity="error", timeout=8)
            self._ended()

    def _ended(self) -> None:
        self.chat.finished()
        self.composer.hold_cursor(False)
        self.refresh_log()
        self.call_after_refresh(settle_memory)

    def _draft(self, event: DraftChunk) -> None:
        box = self.composer
        text = (box.text + event.text).lstrip()
        box.set_text(text.strip() if event.done else text)
        if event.done:
            self.chat.finished()

    # -- keys ---------------------------------------------------------------------------------

    def on_key(self, event: events.Key) -> None:
        """A letter typed while something else here has focus (a message, the side list) goes
        to the message box: no printable key ever acts on a message."""
        box = self.composer
        if event.is_printable and event.character and self.focused is not box:
            event.stop()
            event.prevent_default()
            box.focus()
            box.insert(event.character)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Ctrl+←/→ swipe, except while typing a line: then they move the cursor by words."""
        return not (action == "swipe" and self.focused is self.composer and self.composer.text)

    @on(Composer.Submitted, "#say")
    def _send(self, event: Composer.Submitted) -> None:
        text = event.text.strip()
        if not text:
            return
        if self.attempt(lambda: self.chat.send(text)):
            self._welcome(False)
            event.composer.clear()
            event.composer.hold_cursor(True)
            self.log_view.add(
                Shown(None, self.chat.session.user if self.chat.session else "", text, True)
            )

    def action_stop(self) -> None:
        if self._refusal_up:  # Esc answers the refusal, not the reply
            self._refusal_up = False
            self.app.clear_notifications()
            return
        self.chat.stop()

    def action_regenerate(self) -> None:
        if self.attempt(self.chat.regenerate):
            self.composer.hold_cursor(True)

    def action_continue_reply(self) -> None:
        if self.attempt(self.chat.continue_):
            self.composer.hold_cursor(True)

    def action_impersonate(self) -> None:
        if self.attempt(self.chat.impersonate):
            self.composer.clear()
            self.composer.focus()

    def action_swipe(self, step: int) -> None:
        self.act_on(-1, "swipe", step)

    def on_chat_log_older(self) -> None:
        """Scrolled to the top of the log: page in older messages, if there are any (not while
        a reply streams in below them)."""
        if not self.chat.busy and self.chat.older():
            self.log_view.show(self.chat.shown())

    def action_scroll(self, pages: int) -> None:
        log = self.log_view
        log.scroll_page_down() if pages > 0 else log.scroll_page_up()

    def action_new_chat(self) -> None:
        if self.chat.character is not None:
            self.open_character(self.chat.character, new=True)

    def action_undo(self) -> None:
        if self.attempt(self.chat.undo_delete):
            self.notify("Delete undone.")
        self.refresh_log()

    # -- one message --------------------------------------------------------------------------

    @on(ChatMessage.Action)
    def _message_action(self, event: ChatMessage.Action) -> None:
        index = self.log_view.index_of(event.block) + self.chat.log_offset
        if event.action == "actions":
            from app.tui.screens.message_actions import MessageActions

            def chosen(action: str | None) -> None:
                if action in ("swipe_left", "swipe_right"):
                    self.act_on(index, "swipe", -1 if action == "swipe_left" else 1)
                elif action is not None:
                    self.act_on(index, action)
                else:
                    event.block.focus()

            self.app.push_screen(MessageActions(event.block.shown.speaker), chosen)
        else:
            self.act_on(index, event.action, event.step)

    def act_on(self, index: int, action: str, step: int = 0) -> None:
        """`action` (swipe, edit, delete, branch) on message `index` (negative: from the end).
        Edit and delete ask first (a dialog); every change redraws the log."""
        if action == "edit":
            chat_dialogs.ask_edit(self, index)
        elif action == "delete":
            chat_dialogs.ask_delete(self, index)
        elif self.attempt(lambda: self.chat.act_on(index, action, step)):
            if action == "branch":
                self.notify("Branched into a new chat.")
            if not self.chat.busy:
                self.refresh_log()

    def action_persona(self) -> None:
        chat_dialogs.ask_persona(self)

    def action_authors_note(self) -> None:
        chat_options.ask_authors_note(self)

    def action_state_panel(self) -> None:
        chat_options.ask_state(self)

    def action_chats(self) -> None:
        chat_options.show_chats(self)

    def action_barks(self) -> None:
        from app.tui.screens.barks import open_barks

        open_barks(self)

    def action_bookmark(self) -> None:
        chat_options.ask_bookmark(self)

    def action_context(self) -> None:
        chat_dialogs.show_context(self)
