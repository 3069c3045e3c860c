"""One stored chat → one training example: the persona the app sends, then the active path.

The persona is the system message of the chat's own prompt (`ChatSession.assembly` at the
chat's start: the sheet, the persona played, constant lore, example dialogues), so the model
is trained on what it is later shown. Per-turn notes (triggered lore, state, author's note)
are left out: they change every turn and are not the character's voice. The path is the one
the user sees, with the versions and swipes chosen; it ends at the last reply worth learning.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.engine.base import Engine
from app.home import Home
from app.memory.history import PathHistory
from app.memory.store import Chat, ChatStore
from app.models import ModelInfo
from app.prompts.formats import PromptFormat
from app.prompts.messages import Message, Role
from app.session_start import start_session
from app.settings import Settings
from app.sheets.sheet import Sheet


@dataclass(frozen=True)
class Turn:
    """A message of the path, with which of its texts and swipes it is."""

    message_id: int
    role: Role
    content: str
    versions: int
    """How many texts the message has had; the path holds the last (the current one)."""
    swipe: int
    """1-based position among its alternatives (the "2/3" counter)."""
    swipes: int
    tokens: int = 0

    @property
    def edited(self) -> bool:
        return self.versions > 1


@dataclass
class ChatExample:
    character_id: str
    chat_id: int
    title: str | None
    user: str
    system: str
    turns: list[Turn]
    cut: str = ""
    """Why the path was cut before its end ("" when whole)."""
    tokens: int = 0
    """The whole example rendered in the model's prompt format."""
    key: str = ""
    """The content hash (dedupe and split key); `build` fills it in."""
    prefix_keys: list[str] = field(default_factory=list)

    @property
    def messages(self) -> list[Message]:
        return [Message("system", self.system)] + [Message(t.role, t.content) for t in self.turns]

    def rendered(self, fmt: PromptFormat) -> str:
        """The example as the model reads it: the app's prompt format, no generation prompt."""
        return str(fmt.render(self.messages, add_generation_prompt=False))


KEPT = ("complete", "cancelled")
"""Reply states worth learning from: finished, or stopped by the user, who kept its text. A
reply still streaming, interrupted by a crash or failed ends the example before it, unless it
was edited by hand (then its text is the designer's)."""


class Skipped(Exception):
    """A chat that gives no example; the message says why (it goes in the manifest)."""


def chat_example(
    store: ChatStore,
    engine: Engine,
    info: ModelInfo,
    fmt: PromptFormat,
    sheet: Sheet,
    character_id: str,
    settings: Settings,
    home: Home,
    chat: Chat,
    *,
    only_edited: bool,
) -> ChatExample:
    """The chat's example, or `Skipped` saying why it has none."""
    session = start_session(
        engine, info, fmt, sheet, character_id, settings,
        store=store, resume=chat.id, home=home, summaries=False,
    )  # fmt: skip
    system = session.assembly(history=session.history[:0]).messages[0].content
    history = session.history
    if not isinstance(history, PathHistory):
        raise Skipped("not a stored chat")
    turns: list[Turn] = []
    cut = ""
    for index in range(len(history)):
        stored = history.stored(index)
        versions = len(store.versions(stored.id))
        if stored.role == "assistant" and stored.status not in KEPT and versions == 1:
            cut = f"reply {stored.id} is {stored.status}"
            break
        siblings = [m.id for m in store.swipes(stored.id)]
        turns.append(
            Turn(
                message_id=stored.id,
                role=stored.role,
                content=stored.content,
                versions=versions,
                swipe=siblings.index(stored.id) + 1 if stored.id in siblings else 1,
                swipes=max(len(siblings), 1),
                tokens=engine.count_tokens(stored.content),
            )
        )
    first_user = next((i for i, t in enumerate(turns) if t.role == "user"), len(turns))
    wanted = [i for i, t in enumerate(turns) if t.role == "assistant" and i > first_user]
    if only_edited:
        wanted = [i for i in wanted if turns[i].edited]
        if not wanted:
            raise Skipped("no edited reply")
    if not wanted:
        raise Skipped(cut or "no reply to a user line")
    end = wanted[-1] + 1
    if end < len(turns):
        cut = cut or ("after the last edited reply" if only_edited else "ends with a user line")
    example = ChatExample(
        character_id=character_id,
        chat_id=chat.id,
        title=chat.title,
        user=session.user,
        system=system,
        turns=turns[:end],
        cut=cut,
    )
    example.tokens = engine.count_tokens(example.rendered(fmt))
    return example
