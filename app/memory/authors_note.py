"""The author's note of a chat, as SillyTavern has it: a line of direction the user keeps beside
the chat, injected every few turns at a chosen depth.

Depth 0 puts it in the per-turn notes at the end of the prompt (the KV cache's friend: nothing
earlier changes); depth N puts it as its own message N messages from the end, as SillyTavern's
"in-chat @ depth" does. Frequency N: only on every N-th user turn (0: never).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.errors import LoreweaverError
from app.memory.assembly import InChat, TurnNotes
from app.memory.store import ChatStore
from app.prompts.messages import Message, Role
from app.sheets.macros import substitute
from app.sheets.validation import describe

MAX_NOTE = 20_000
MAX_DEPTH = 1000


class AuthorsNote(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str = Field("", max_length=MAX_NOTE)
    depth: int = Field(0, ge=0, le=MAX_DEPTH)
    """0: in the per-turn notes; N: a message of its own before the last N messages."""
    frequency: int = Field(1, ge=0, le=MAX_DEPTH)
    """Inserted on user turns 1·N, 2·N, …; 0 turns the note off."""
    role: Role = "system"
    """The role of the note's own message (depth > 0); at depth 0 it is part of the notes."""

    def applies(self, user_turn: int) -> bool:
        """Whether the prompt answering the `user_turn`-th user line carries the note."""
        return bool(self.text.strip()) and self.frequency > 0 and user_turn % self.frequency == 0

    def describe(self) -> str:
        """One line for `--explain` and the app: where and how often."""
        where = (
            "in the per-turn notes"
            if self.depth == 0
            else f"{self.role} message at depth {self.depth}"
        )
        every = (
            "off"
            if self.frequency == 0
            else ("every turn" if self.frequency == 1 else f"every {self.frequency} turns")
        )
        return f"author's note ({where}, {every})"


def place_note(
    note: AuthorsNote | None, notes: TurnNotes, *, user_turn: int, char: str, user: str
) -> tuple[InChat | None, str]:
    """Put the note where it goes for this turn: into `notes` (depth 0) or an `InChat` message.

    Returns the message (if any) and a line saying what was done, for `--explain`.
    """
    if note is None or not note.text.strip():
        return None, ""
    if not note.applies(user_turn):
        return None, f"{note.describe()}: not on turn {user_turn}"
    text = substitute(note.text.strip(), char=char, user=user)
    if note.depth == 0:
        notes.authors_note = text
        return None, note.describe()
    return InChat(note.depth, Message(note.role, text), note.describe()), note.describe()


def make_note(
    text: str, *, depth: int = 0, frequency: int = 1, role: str = "system"
) -> AuthorsNote:
    """An author's note from loose input (flags, a form): one clear error naming the field."""
    try:
        return AuthorsNote.model_validate(
            {"text": text, "depth": depth, "frequency": frequency, "role": role}
        )
    except ValidationError as exc:
        raise LoreweaverError(f"author's note: {describe(exc)}") from None


def load_note(store: ChatStore, chat_id: int) -> AuthorsNote | None:
    with store.transaction() as conn:
        row = conn.execute(
            "SELECT text, depth, frequency, role FROM authors_notes WHERE chat_id = ?", (chat_id,)
        ).fetchone()
    if row is None:
        return None
    try:
        return AuthorsNote.model_validate(dict(row))
    except ValidationError:  # a hand-damaged row must not stop the chat: it reads as no note
        return None


def save_note(store: ChatStore, chat_id: int, note: AuthorsNote | None) -> None:
    """Keep `note` with the chat (None or empty text removes it)."""
    with store.transaction() as conn:
        store.get_chat(chat_id)
        if note is None or not note.text.strip():
            conn.execute("DELETE FROM authors_notes WHERE chat_id = ?", (chat_id,))
            return
        conn.execute(
            "INSERT INTO authors_notes (chat_id, text, depth, frequency, role) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(chat_id) DO UPDATE SET text = excluded.text, "
            "depth = excluded.depth, frequency = excluded.frequency, role = excluded.role",
            (chat_id, note.text, note.depth, note.frequency, note.role),
        )
