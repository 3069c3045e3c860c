"""A chat with one character: the domain object behind `loreweaver chat` and the TUI.

It wires the pieces together — sheet → prompt assembly → the model's prompt format → engine —
and, when given a store, makes the chat durable: the user's line is committed before the reply
starts, and the reply is checkpointed while it streams. It knows nothing of terminals: callers
iterate the `Reply` it returns and call `finish()`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from app.engine.base import Engine, Generation, GenerationStats, Sampling
from app.engine.modelinfo import ModelInfo
from app.errors import LoreweaverError
from app.home import Home
from app.memory.assembly import Assembly, Turn, TurnNotes, Window, assemble, post_history_text
from app.memory.checkpoint import ReplyWriter
from app.memory.records import Chat
from app.memory.store import ChatStore
from app.prompts.formats import PromptFormat, choose_format, role_play_stops
from app.prompts.messages import Message
from app.settings import Settings
from app.sheets import library
from app.sheets.macros import substitute
from app.sheets.sheet import Sheet


def greeting(sheet: Sheet, user: str) -> str:
    return substitute(sheet.first_message.strip(), char=sheet.name, user=user)


@dataclass
class ChatSession:
    sheet: Sheet
    fmt: PromptFormat
    engine: Engine
    user: str = "User"
    user_description: str = ""
    history: list[Message] = field(default_factory=list)
    """The active path, greeting first; mirrors the store when there is one."""
    store: ChatStore | None = None
    chat: Chat | None = None
    model_name: str | None = None
    reserve: int = 300
    """Tokens kept free for the reply; `send` sets it from the sampling's max_tokens."""

    def __post_init__(self) -> None:
        self._count = lru_cache(maxsize=4096)(self.engine.count_tokens)

    def assembly(self, pending: str | None = None, notes: TurnNotes | None = None) -> Assembly:
        turns = [Turn(m.role, m.content) for m in self.history]
        if pending is not None:
            turns.append(Turn("user", pending))
        if notes is None:
            notes = TurnNotes(post_history=post_history_text(self.sheet, user=self.user))
        return assemble(
            self.sheet,
            turns,
            user=self.user,
            user_description=self.user_description,
            count=self._count,
            window=Window(n_ctx=self.engine.n_ctx, reserve=self.reserve),
            notes=notes,
        )

    def messages(self, pending: str | None = None) -> list[Message]:
        return self.assembly(pending).messages

    def prompt(self, pending: str | None = None) -> str:
        return self.fmt.render(self.messages(pending))

    @property
    def stops(self) -> list[str]:
        return role_play_stops(self.fmt, self.user)

    def send(self, text: str, sampling: Sampling) -> Reply:
        """Commit the user's line, then start the character's reply to it."""
        self.reserve = sampling.max_tokens
        prompt = self.prompt(text)
        writer = None
        if self.store is not None and self.chat is not None:
            self.store.add_message(self.chat.id, "user", text, name=self.user)
            writer = ReplyWriter(self.store, self.chat.id, name=self.sheet.name)
        self.history.append(Message("user", text))
        generation = self.engine.generate(prompt, sampling, stop=self.stops)
        return Reply(self, generation, writer, sampling)


class Reply:
    """A reply streaming in: iterate it for text, `cancel()` from anywhere, then `finish()`."""

    def __init__(
        self,
        session: ChatSession,
        generation: Generation,
        writer: ReplyWriter | None,
        sampling: Sampling,
    ) -> None:
        self.session = session
        self.generation = generation
        self.writer = writer
        self.sampling = sampling
        self.finished = False

    def __iter__(self) -> Iterator[str]:
        for piece in self.generation:
            if self.writer is not None:
                self.writer.append(piece)
            yield piece

    def cancel(self) -> None:
        self.generation.cancel()

    @property
    def text(self) -> str:
        return self.generation.text

    @property
    def stats(self) -> GenerationStats:
        return self.generation.stats

    def finish(self) -> str:
        """Keep the reply (a stopped one keeps what was produced) in the history and store."""
        if self.finished:
            return self.generation.text.strip()
        self.finished = True
        for _ in self.generation:  # drain whatever is left (after a cancel)
            pass
        reply = self.generation.text.strip()
        if self.writer is not None:
            self.writer.complete(
                self.generation,
                text=reply,
                model=self.session.model_name,
                template=self.session.fmt.id,
                sampling=self.sampling,
            )
        if reply:
            self.session.history.append(Message("assistant", reply))
        return reply


def sampling_from(settings: Settings, *, seed: int | None, max_tokens: int | None) -> Sampling:
    base = settings.sampling
    return Sampling(
        temperature=base.temperature,
        top_p=base.top_p,
        top_k=base.top_k,
        min_p=base.min_p,
        repeat_penalty=base.repeat_penalty,
        seed=base.seed if seed is None else seed,
        max_tokens=base.max_tokens if max_tokens is None else max_tokens,
    )


def resolve_setup(
    home: Home, settings: Settings, *, character: str, model: str | None, template: str | None
) -> tuple[str, Sheet, ModelInfo, PromptFormat]:
    """Everything a chat needs except the loaded engine, with every input checked first."""
    from app.engine.registry import resolve_model

    entry, sheet = library.load(home, character)
    info = resolve_model(home, model if model is not None else settings.model)
    fmt = choose_format(template if template is not None else settings.template, info)
    return entry.id, sheet, info, fmt


def open_chat(
    store: ChatStore, character_id: str, sheet: Sheet, *, user: str, resume: int | bool | None
) -> tuple[Chat, list[Message]]:
    """A new chat (its greeting stored as the first message), or an existing one to resume.

    `resume=True` takes the character's latest chat; an int names a chat id.
    """
    chat: Chat | None = None
    if isinstance(resume, bool):
        chat = store.latest_chat(character_id) if resume else None
        if resume and chat is None:
            raise LoreweaverError(f"no saved chat with {character_id!r} to resume")
    elif resume is not None:
        chat = store.get_chat(resume)
        if chat.character_id != character_id:
            raise LoreweaverError(
                f"chat {resume} belongs to {chat.character_id!r}, not {character_id!r}"
            )
    if chat is None:
        chat = store.create_chat(character_id, user_name=user)
        hello = greeting(sheet, user)
        if hello:
            store.add_message(chat.id, "assistant", hello, name=sheet.name)
    history = [
        m.as_message()
        for m in store.active_path(chat.id)
        if m.content.strip() and not m.meta.get("hidden")
    ]
    return chat, history


def open_session(
    home: Home,
    settings: Settings,
    *,
    character: str,
    model: str | None = None,
    template: str | None = None,
    user: str | None = None,
    store: ChatStore | None = None,
    resume: int | bool | None = None,
) -> ChatSession:
    """Load everything for a chat. Without a store the chat lives in memory only."""
    from app.engine.llamacpp import load_engine

    character_id, sheet, info, fmt = resolve_setup(
        home, settings, character=character, model=model, template=template
    )
    name = user or settings.user_name
    chat, history = None, [Message("assistant", greeting(sheet, name))]
    if store is not None:
        chat, history = open_chat(store, character_id, sheet, user=name, resume=resume)
    history = [m for m in history if m.content]
    engine = load_engine(info, n_threads=settings.n_threads, n_ctx_cap=settings.n_ctx)
    return ChatSession(
        sheet=sheet,
        fmt=fmt,
        engine=engine,
        user=name,
        user_description=settings.user_description,
        history=history,
        store=store,
        chat=chat,
        model_name=info.path.name,
    )
