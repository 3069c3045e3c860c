"""The library: every character as a card, filtered as you type, with each one's saved chats.

The screen only browses and manages files (new, import, duplicate, delete through `app.sheets`);
choosing a character or a chat dismisses it with a `Choice`, and the app opens that chat.
Reading sheets and importing cards run in thread workers that only post messages.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Label, ListItem, ListView

from app.errors import LoreweaverError
from app.home import Home
from app.memory.store import ChatStore, ChatSummary
from app.sheets import catalog, transfer
from app.sheets.catalog import Summary
from app.text import safe_line
from app.tui.commands import ScreenActions
from app.tui.messages import CardImported, ImportFailed, LibraryLoaded
from app.tui.screens.ask import AskDialog
from app.tui.screens.confirm import ConfirmDialog
from app.tui.screens.new_character import create_character
from app.tui.widgets.character_card import CharacterCard

NEW_CHAT = "new"
PREVIEW_CHARS = 120


@dataclass(frozen=True)
class Choice:
    """What to open: a character's latest chat, the chat `chat_id`, or a new chat (`new`)."""

    character: str
    chat_id: int | None = None
    new: bool = False


def _chat_item(chat: ChatSummary) -> ListItem:
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(chat.updated_at))
    count = f"{chat.message_count} message" + ("" if chat.message_count == 1 else "s")
    title = f"{chat.title} · " if chat.title else ""
    preview = " ".join(chat.last_message.split())[:PREVIEW_CHARS] or "(empty)"
    return ListItem(
        Label(safe_line(f"{title}{when} · {count}"), classes="chat-when", markup=False),
        Label(safe_line(preview), classes="chat-preview", markup=False),
        name=str(chat.id),
    )


class LibraryScreen(Screen[Choice | None]):
    TITLE = "Library"
    SUB_TITLE = "your characters and the samples"
    COMMANDS = {ScreenActions}
    BINDINGS = [
        Binding("o", "open", "Open", tooltip="Chat with the highlighted character or chat"),
        Binding("n", "new_chat", "New chat", tooltip="Start a new chat with the character"),
        Binding(
            "i", "import_card", "Import", tooltip="Import a card file (JSON, PNG, CHARX, YAML)"
        ),
        Binding(
            "a",
            "new_character",
            "New character",
            tooltip="A new character from a blank sheet, opened in the editor",
        ),
        Binding("c", "duplicate", "Duplicate", tooltip="Copy the character under a new id"),
        Binding("delete,x", "delete", "Delete", tooltip="Delete one of your own characters"),
        Binding("slash", "search", "Search", tooltip="Filter by name, tags or description"),
        Binding("escape", "back", "Back", tooltip="Back to the chat"),
        Binding("down", "focus_cards", show=False),
    ]

    def __init__(
        self,
        where: Home,
        store: ChatStore | None,
        *,
        user: str = "User",
        current: str | None = None,
    ) -> None:
        super().__init__()
        self.where = where
        self.store = store
        self.user = user
        self.summaries: list[Summary] = []
        self.loaded = False
        self._wanted = current
        """The card to highlight after the next (re)load of the list."""

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="lib-body"):
            with Vertical(id="lib-main"):
                yield Input(placeholder="Search name, tags, description…  (/)", id="lib-search")
                yield ListView(id="lib-cards")
                yield Label("", id="lib-empty", markup=False)
            with Vertical(id="lib-side"):
                yield Label("Chats", id="lib-chats-title", markup=False)
                yield ListView(id="lib-chats")
        yield Footer(compact=True, show_command_palette=False)  # Ctrl+P is named in Help

    def on_mount(self) -> None:
        self.query_one("#lib-cards", ListView).focus()
        self.reload()

    def on_resize(self) -> None:
        self.set_class(self.size.width < 100, "-narrow")

    # -- reading the library ---------------------------------------------------------------

    @work(thread=True, exclusive=True, group="library-load")
    def reload(self) -> None:
        self.post_message(LibraryLoaded(catalog.summaries(self.where, user=self.user)))

    async def on_library_loaded(self, message: LibraryLoaded) -> None:
        self.summaries = message.summaries
        await self._show_cards()
        self.loaded = True

    @property
    def cards(self) -> ListView:
        return self.query_one("#lib-cards", ListView)

    def highlighted(self) -> Summary | None:
        item = self.cards.highlighted_child
        return item.summary if isinstance(item, CharacterCard) else None

    async def _show_cards(self) -> None:
        query = self.query_one("#lib-search", Input).value
        current = self.highlighted()
        wanted = self._wanted or (current.id if current else None)
        self._wanted = None
        shown = [s for s in self.summaries if s.matches(query)]
        cards = self.cards
        await cards.clear()
        await cards.extend(CharacterCard(summary) for summary in shown)
        ids = [summary.id for summary in shown]
        cards.index = ids.index(wanted) if wanted in ids else (0 if ids else None)
        empty = self.query_one("#lib-empty", Label)
        empty.display = not shown
        if not self.summaries:
            empty.update("No characters yet: press i to import a card.")
        elif not shown:
            empty.update(f"No character matches {query.strip()!r}.")
        await self._show_chats()

    @on(Input.Changed, "#lib-search")
    async def _filter(self) -> None:
        await self._show_cards()

    @on(Input.Submitted, "#lib-search")
    def action_focus_cards(self) -> None:
        self.cards.focus()

    @on(ListView.Highlighted, "#lib-cards")
    async def _card_highlighted(self) -> None:
        await self._show_chats()

    async def _show_chats(self) -> None:
        summary = self.highlighted()
        chats_view = self.query_one("#lib-chats", ListView)
        title = self.query_one("#lib-chats-title", Label)
        await chats_view.clear()
        if summary is None:
            title.update("Chats")
            return
        chats: list[ChatSummary] = []
        if self.store is not None:
            try:
                chats = self.store.list_chats(summary.id)
            except LoreweaverError as exc:
                self.notify(str(exc), severity="error", markup=False)
        title.update(safe_line(f"Chats with {summary.name} ({len(chats)})"))
        new = ListItem(Label("+ New chat", classes="chat-when"), name=NEW_CHAT)
        await chats_view.extend([new, *(_chat_item(chat) for chat in chats)])
        chats_view.index = 0

    # -- opening -----------------------------------------------------------------------------

    @on(ListView.Selected, "#lib-cards")
    def action_open(self) -> None:
        chats_view = self.query_one("#lib-chats", ListView)
        if self.focused is chats_view and chats_view.highlighted_child is not None:
            self._open_chat(chats_view.highlighted_child)
            return
        summary = self.highlighted()
        if summary is not None:
            self.dismiss(Choice(summary.id))

    @on(ListView.Selected, "#lib-chats")
    def _chat_selected(self, event: ListView.Selected) -> None:
        self._open_chat(event.item)

    def _open_chat(self, item: ListItem) -> None:
        summary = self.highlighted()
        if summary is None or not item.name:
            return
        if item.name == NEW_CHAT:
            self.dismiss(Choice(summary.id, new=True))
        else:
            self.dismiss(Choice(summary.id, chat_id=int(item.name)))

    def action_new_chat(self) -> None:
        summary = self.highlighted()
        if summary is not None:
            self.dismiss(Choice(summary.id, new=True))

    def action_back(self) -> None:
        self.dismiss(None)

    def action_search(self) -> None:
        self.query_one("#lib-search", Input).focus()

    # -- import --------------------------------------------------------------------------------

    def action_import_card(self) -> None:
        dialog = AskDialog(
            "Import a character",
            "Path to a card or sheet: .json, .png, .charx or .yaml",
            placeholder="~/Downloads/card.png",
        )

        def chosen(path: str | None) -> None:
            if path:
                self.import_card(path, None)

        self.app.push_screen(dialog, chosen)

    @work(thread=True, group="library-import")
    def import_card(self, path: str, as_id: str | None) -> None:
        try:
            imported = transfer.import_file(self.where, Path(path).expanduser(), as_id=as_id)
        except LoreweaverError as exc:
            # The only error a new id can fix; transfer words it with "already in your library".
            taken = "already in your library" in str(exc)
            self.post_message(ImportFailed(path, str(exc), taken=taken))
            return
        self.post_message(CardImported(imported))

    def on_card_imported(self, message: CardImported) -> None:
        imported = message.imported
        if imported.already_there:
            self.notify(f"{imported.id!r} is already in your library, unchanged.", markup=False)
        else:
            self.notify(f"Imported {imported.kind} {imported.id!r}.", markup=False)
        if imported.kind == "character":
            self._wanted = imported.id
        self.reload()

    def on_import_failed(self, message: ImportFailed) -> None:
        if not message.taken:
            self.notify(message.error, severity="error", timeout=8, markup=False)
            return
        self.notify(
            message.error.replace("import with --as NEW_ID", "choose a new id"),
            severity="warning",
            timeout=8,
            markup=False,
        )
        dialog = AskDialog("Keep both", "A new id for the imported one (a-z, 0-9, _)")

        def chosen(new: str | None) -> None:
            if new:
                self.import_card(message.path, new)

        self.app.push_screen(dialog, chosen)

    # -- new, duplicate and delete -------------------------------------------------------------

    def action_new_character(self) -> None:
        def closed(character_id: str) -> None:
            self._wanted = character_id
            self.reload()

        create_character(self.app, self.where, closed)

    def action_duplicate(self) -> None:
        summary = self.highlighted()
        if summary is None:
            return
        taken = {s.id for s in self.summaries}
        suggestion = next(
            name
            for n in range(1, len(taken) + 2)
            if (name := f"{summary.id}_copy" + (f"_{n}" if n > 1 else "")) not in taken
        )
        dialog = AskDialog(
            f"Duplicate {summary.name}", "Id of the copy (a-z, 0-9, _)", value=suggestion
        )

        def chosen(new: str | None) -> None:
            if new:
                self._duplicate(summary.id, new)

        self.app.push_screen(dialog, chosen)

    def _duplicate(self, source: str, new_id: str) -> None:
        try:
            entry = catalog.duplicate(self.where, source, new_id)
        except LoreweaverError as exc:
            self.notify(str(exc), severity="error", timeout=8, markup=False)
            return
        self.notify(f"Copied {source!r} to {entry.id!r}.", markup=False)
        self._wanted = entry.id
        self.reload()

    def action_delete(self) -> None:
        summary = self.highlighted()
        if summary is None:
            return
        if summary.sample:
            self.notify(
                "Samples cannot be deleted; duplicate one to make your own copy.",
                severity="warning",
                markup=False,
            )
            return
        question = (
            f"Delete {summary.name} ({summary.id})?\n"
            "The sheet, avatar and assets are removed; saved chats are kept."
        )
        self.app.push_screen(
            ConfirmDialog(question, yes="Delete"),
            lambda yes: self._delete(summary.id) if yes else None,
        )

    def _delete(self, character_id: str) -> None:
        try:
            catalog.delete(self.where, character_id)
        except LoreweaverError as exc:
            self.notify(str(exc), severity="error", timeout=8, markup=False)
            return
        self.notify(f"Deleted {character_id!r}.", markup=False)
        self.reload()
