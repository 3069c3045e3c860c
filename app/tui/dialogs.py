"""The screens the chat opens: persona, context, library, editor, help, model settings; and quit,
which asks the editor first."""

from __future__ import annotations

from textual import work

from app.errors import LoreweaverError
from app.memory.authors_note import AuthorsNote
from app.personas import load_personas, save_personas
from app.session import ChatSession
from app.settings import Settings, save_settings
from app.sheets import library
from app.tui.app_state import BUSY, AppState
from app.tui.screens.context import ContextScreen
from app.tui.screens.help import HelpScreen
from app.tui.screens.library import Choice, LibraryScreen
from app.tui.screens.model_settings import ModelSettingsScreen
from app.tui.screens.persona import PersonaChoice, PersonaScreen


class DialogActions(AppState):
    def action_persona(self) -> None:
        session = self._idle_session()
        if session is None:
            return

        try:
            saved = load_personas(self.where)
        except LoreweaverError as exc:
            self.notify(str(exc), severity="error")
            return

        def chosen(choice: PersonaChoice | None) -> None:
            if choice is None:
                return
            if choice.personas != saved:
                try:
                    save_personas(self.where, choice.personas)
                except LoreweaverError as exc:
                    self.notify(str(exc), severity="error")
            self._change_tree(lambda: session.set_persona(choice.name, choice.description))
            self._show_status()

        self.push_screen(PersonaScreen(
            saved, session.user, session.user_description, self.current_id or ""
        ), chosen)

    def action_authors_note(self) -> None:
        """F6: the chat's author's note (text, depth, frequency, role)."""
        from app.tui.screens.authors_note import AuthorsNoteScreen

        session = self._idle_session()
        if session is None:
            return

        def chosen(note: AuthorsNote | None) -> None:
            if note is not None:
                try:
                    session.set_authors_note(note)
                except LoreweaverError as exc:
                    self.notify(str(exc), severity="error")

        self.push_screen(AuthorsNoteScreen(session.authors_note), chosen)

    def action_state_panel(self) -> None:
        """F7: the NPC's state variables and trust in this chat, editable."""
        from app.tui.screens.state_panel import StatePanel

        session = self._idle_session()
        if session is None:
            return

        def chosen(changes: dict[str, str] | None) -> None:
            try:
                for key, raw in (changes or {}).items():
                    session.set_state(key, raw)
            except LoreweaverError as exc:
                self.notify(str(exc), severity="error")

        self.push_screen(StatePanel(session.state()), chosen)

    def action_chats(self) -> None:
        """F8: every chat, to open, rename, delete, export, import, search and bookmark."""
        from app.tui.screens.chats import ChatsScreen

        if self.busy or self.store is None:
            self.notify(BUSY if self.busy else "No chat store.", severity="warning")
            return
        chat = self.session.chat if self.session is not None else None

        def chosen(choice: Choice | None) -> None:
            if choice is not None:
                self.open_character(choice.character, choice.chat_id)

        self.push_screen(ChatsScreen(
            self.store, character=self.current_id, current=chat.id if chat else None,
            exports=self.where.root / "exports",
        ), chosen)

    def action_bookmark(self) -> None:
        """Ctrl+B: name the point the chat has reached, to come back or branch from later."""
        from app.memory.bookmarks import add_bookmark
        from app.tui.screens.ask import AskDialog

        session = self._idle_session()
        if session is None:
            return

        def named(name: str | None) -> None:
            if name is None:
                return
            try:
                chat = session.saved_chat()
                if chat is None or session.store is None:
                    raise LoreweaverError("this chat is not saved, so it has no bookmarks")
                add_bookmark(session.store, chat.id, name)
            except LoreweaverError as exc:
                self.notify(str(exc), severity="error")
                return
            self.notify(f"Bookmarked as {name!r} (F8 lists bookmarks).")

        self.push_screen(AskDialog("Bookmark", "A name for this point of the chat"), named)

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
            self.notify(BUSY, severity="warning")
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
