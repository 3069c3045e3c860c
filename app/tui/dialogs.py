"""The screens the chat opens: persona, context, library, editor, help, model settings; and quit,
which asks the editor first."""

from __future__ import annotations

from textual import work

from app.errors import LoreweaverError
from app.session import ChatSession
from app.settings import Settings, save_settings
from app.sheets import library
from app.tui.app_state import BUSY, AppState
from app.tui.screens.context import ContextScreen
from app.tui.screens.help import HelpScreen
from app.tui.screens.library import Choice, LibraryScreen
from app.tui.screens.model_settings import ModelSettingsScreen
from app.tui.screens.persona import PersonaScreen


class DialogActions(AppState):
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
        from app.tui.screens.world_book import WorldBookScreen

        editing = (EditorScreen, WorldBookScreen)
        editors = [s for s in self.screen_stack if isinstance(s, editing) and s.dirty]
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
