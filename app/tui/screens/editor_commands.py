"""The character editor's actions in the command palette (shown only while it is open)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider


class EditorCommands(Provider):
    """The editor's actions in the command palette (shown only while the editor is open)."""

    def _commands(self) -> list[tuple[str, str, Callable[[], object]]]:
        from app.tui.screens.editor import EditorScreen

        screen = self.screen
        if not isinstance(screen, EditorScreen):
            return []
        books = [
            (
                f"Edit world book {book_id}",
                "A shared lorebook this sheet names in world",
                partial(screen.open_world_book, book_id),
            )
            for book_id in screen.world_ids
        ]
        return books + [
            ("Save character", "Write the sheet to your library (Ctrl+S)", screen.action_save),
            (
                "Close editor",
                "Back to the chat; asks about unsaved changes (Esc)",
                screen.action_close,
            ),
            (
                "Add lore entry",
                "A new entry in the character's lorebook (Ctrl+N)",
                screen.action_add_entry,
            ),
            ("Remove lore entry", "Delete the selected lorebook entry", screen.action_remove_entry),
            (
                "Test lorebook",
                "Which entries fire for a text, and why (Ctrl+T)",
                screen.action_lore_test,
            ),
            (
                "New character",
                "Close this sheet, then start a blank one in your library",
                screen.action_new_character,
            ),
        ]

    async def discover(self) -> Hits:
        for name, help_text, callback in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
