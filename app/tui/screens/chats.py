"""The chats manager (F8): every saved chat, to open, rename, delete (asked first), export or
import as SillyTavern JSONL, search across, and bookmark (jump back to a bookmark, or branch a
new chat from one).

It works on the store directly (`app.memory`) and dismisses with the `Choice` of a chat to
open, or None; when the open chat was deleted or moved back to a bookmark, closing it asks the
app to reopen (`Choice(character)`), since the chat on screen is no longer what is stored.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Label

from app.errors import LoreweaverError
from app.export import export_chat, stamp_dialogue
from app.fsutil import write_text_atomic
from app.memory.recall import search
from app.memory.sillytavern import NoCharacter, import_chat, write_chat_file
from app.memory.store import ChatStore, branch_from, jump_to, list_bookmarks
from app.tui.screens.ask import AskDialog
from app.tui.screens.confirm import ConfirmDialog
from app.tui.screens.dialogue_export import DialogueExportDialog, ExportRequest
from app.tui.screens.library import Choice

HINTS = {
    "chats": "Enter opens · r rename · d delete · x export · e dialogue export · i import · "
    "b bookmarks · / find",
    "hits": "Enter opens the chat · Esc back to the chats",
    "marks": "Enter jumps back here · n branches a new chat from here · Esc back to the chats",
}


def _when(stamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(stamp))


def _line(text: str, width: int = 70) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


class ChatsScreen(ModalScreen[Choice | None]):
    DEFAULT_CSS = """
    ChatsScreen #chats-table { height: 1fr; }
    ChatsScreen #chats-search { margin: 0 0 1 0; }
    ChatsScreen .hint { width: 100%; }
    """
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("slash", "search", "Search"),
        Binding("r", "rename", "Rename"),
        Binding("d,delete", "delete", "Delete"),
        Binding("x", "export", "Export"),
        Binding("e", "dialogue_export", "Dialogue export"),
        Binding("i", "import", "Import"),
        Binding("b", "bookmarks", "Bookmarks"),
        Binding("n", "branch", "Branch", show=False),
    ]

    def __init__(
        self, store: ChatStore, *, character: str | None, current: int | None, exports: Path
    ) -> None:
        super().__init__()
        self.store = store
        self.character = character
        """The open chat's character: imports go to it, and it is reopened when needed."""
        self.current = current
        self.exports = exports
        self.mode = "chats"
        self.marks_of: int | None = None
        self.reopen = False
        """The open chat was deleted or moved: the app must reopen it on close."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label("", id="chats-title")
            yield Input(placeholder="search every chat… (Enter)", id="chats-search")
            yield DataTable(id="chats-table", cursor_type="row", zebra_stripes=True)
            yield Label("", id="chats-hint", classes="hint")

    def on_mount(self) -> None:
        self.show_chats()

    # -- what the table shows -------------------------------------------------------------

    def _table(self, mode: str, title: str, *columns: str) -> DataTable[str]:
        self.mode = mode
        self.query_one("#chats-title", Label).update(title)
        self.query_one("#chats-hint", Label).update(HINTS[mode])
        table: DataTable[str] = self.query_one("#chats-table", DataTable)
        table.clear(columns=True)
        table.add_columns(*columns)
        table.focus()
        return table

    def show_chats(self) -> None:
        chats = self.store.list_chats()
        table = self._table(
            "chats",
            f"Chats ({len(chats)}; ● is the open one)",
            "id",
            "character",
            "title",
            "messages",
            "updated",
            "last line",
        )
        for chat in chats:
            mark = "● " if chat.id == self.current else ""
            table.add_row(
                f"{mark}{chat.id}",
                chat.character_id,
                chat.title or "",
                str(chat.message_count),
                _when(chat.updated_at),
                _line(chat.last_message, 50),
                key=str(chat.id),
            )

    def show_hits(self, text: str) -> None:
        found = search(self.store, None, text, limit=50)
        table = self._table(
            "hits", f"{len(found)} messages match {text!r}", "chat", "character", "who", "message"
        )
        for message in found:
            chat = self.store.get_chat(message.chat_id)
            table.add_row(
                str(chat.id),
                chat.character_id,
                message.role,
                _line(message.content),
                key=f"{chat.id}:{message.id}",
            )

    def show_marks(self, chat_id: int) -> None:
        self.marks_of = chat_id
        marks = list_bookmarks(self.store, chat_id)
        table = self._table(
            "marks", f"Bookmarks of chat {chat_id} ({len(marks)})", "name", "message", "text"
        )
        for mark in marks:
            text = self.store.get_message(mark.message_id).content
            table.add_row(mark.name, str(mark.message_id), _line(text), key=mark.name)

    def _key(self) -> str | None:
        table = self.query_one("#chats-table", DataTable)
        if table.row_count == 0:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    def _chat_id(self) -> int | None:
        """The highlighted chat (chats mode only)."""
        key = self._key() if self.mode == "chats" else None
        return int(key) if key is not None else None

    # -- actions --------------------------------------------------------------------------

    def _open(self, chat_id: int) -> None:
        self.dismiss(Choice(self.store.get_chat(chat_id).character_id, chat_id))

    @on(DataTable.RowSelected, "#chats-table")
    def _chosen(self) -> None:
        key = self._key()
        if key is None:
            return
        try:
            if self.mode == "chats":
                self._open(int(key))
            elif self.mode == "hits":
                self._open(int(key.split(":")[0]))
            elif self.marks_of is not None:
                jump_to(self.store, self.marks_of, key)
                self._open(self.marks_of)
        except LoreweaverError as exc:
            self.notify(str(exc), severity="error")

    @on(Input.Submitted, "#chats-search")
    def _searched(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.show_hits(event.value)

    def action_search(self) -> None:
        self.query_one("#chats-search", Input).focus()

    def action_back(self) -> None:
        if self.mode != "chats" or self.focused is self.query_one("#chats-search", Input):
            self.query_one("#chats-search", Input).value = ""
            self.show_chats()
            return
        current = self.character if self.reopen else None
        self.dismiss(Choice(current) if current is not None else None)

    def action_rename(self) -> None:
        chat_id = self._chat_id()
        if chat_id is None:
            return
        chat = self.store.get_chat(chat_id)

        def renamed(title: str | None) -> None:
            if title is not None:
                self._try(lambda: self.store.update_chat(chat_id, title=" ".join(title.split())))
                self.show_chats()

        self.app.push_screen(
            AskDialog("Rename chat", f"A title for chat {chat_id}", value=chat.title or ""),
            renamed,
        )

    def action_delete(self) -> None:
        chat_id = self._chat_id()
        if chat_id is None:
            return
        chat = self.store.get_chat(chat_id)
        count = len(self.store.active_path(chat_id))
        question = (
            f"Delete chat {chat_id} with {chat.character_id} ({count} messages, its "
            "swipes, branches and bookmarks)? This cannot be undone."
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self._try(lambda: self.store.delete_chat(chat_id))
                self.reopen = self.reopen or chat_id == self.current
                self.notify(f"Chat {chat_id} deleted.")
                self.show_chats()

        self.app.push_screen(ConfirmDialog(question, yes="Delete"), answered)

    def action_export(self) -> None:
        chat_id = self._chat_id()
        if chat_id is None:
            return
        default = self.exports / f"chat-{chat_id}.jsonl"

        def write(target: Path) -> None:
            stamp_dialogue(self.store, chat_id)  # the file carries the line keys (`app.export`)
            write_chat_file(self.store, chat_id, target)

        def chosen(path: str | None) -> None:
            if path is not None:
                target = Path(path).expanduser()
                if self._try(lambda: write(target)):
                    self.notify(f"Chat {chat_id} exported to {target}.")

        self.app.push_screen(
            AskDialog("Export chat", "SillyTavern JSONL file to write", value=str(default)),
            chosen,
        )

    def action_dialogue_export(self) -> None:
        """The chat's whole tree as Yarn, Ink, Ren'Py, Twee, … (`app.export`)."""
        chat_id = self._chat_id()
        if chat_id is None:
            return

        def chosen(request: ExportRequest | None) -> None:
            if request is not None:
                text = export_chat(self.store, chat_id, request.form)
                if self._try(lambda: write_text_atomic(request.path, text)):
                    self.notify(f"Chat {chat_id} exported to {request.path}.")

        self.app.push_screen(DialogueExportDialog(chat_id, self.exports), chosen)

    def action_import(self) -> None:
        if self.mode != "chats":
            return

        def read(path: Path, character: str | None) -> None:
            try:
                chat = import_chat(self.store, path, character_id=character)
            except NoCharacter:  # the file names nobody: ask whose chat it is
                self.app.push_screen(
                    AskDialog("Import chat", f"{path.name} names no character: whose chat is it?"),
                    lambda answer: read(path, answer) if answer else None,
                )
                return
            except LoreweaverError as exc:
                self.notify(str(exc), severity="error", timeout=8)
                return
            self.notify(f"Imported chat {chat.id} for {chat.character_id}.")
            self.show_chats()

        def chosen(path: str | None) -> None:
            if path is not None:
                read(Path(path).expanduser(), self.character)

        self.app.push_screen(AskDialog("Import chat", "SillyTavern JSONL file to read"), chosen)

    def action_bookmarks(self) -> None:
        chat_id = self._chat_id()
        if chat_id is not None:
            self.show_marks(chat_id)

    def action_branch(self) -> None:
        key = self._key() if self.mode == "marks" else None
        if key is None or self.marks_of is None:
            return
        try:
            chat = branch_from(self.store, self.marks_of, key)
        except LoreweaverError as exc:
            self.notify(str(exc), severity="error")
            return
        self._open(chat.id)

    def _try(self, change: Callable[[], object]) -> bool:
        """Run a store change; a refusal is a notification, not a crash."""
        try:
            change()
        except LoreweaverError as exc:
            self.notify(str(exc), severity="error", timeout=8)
            return False
        return True
