"""A chat with one character: the domain object behind `loreweaver chat` and the TUI.

It wires the pieces together — sheet → prompt assembly → the model's prompt format → engine —
and, when given a store, makes the chat durable: the user's line is committed before the reply
starts, and the reply is checkpointed while it streams. It knows nothing of terminals: callers
iterate the `Reply` it returns and call `finish()`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from app.engine.base import Engine, Generation, GenerationStats, Sampling
from app.engine.modelinfo import ModelInfo
from app.errors import LoreweaverError
from app.home import Home
from app.memory.assembly import (
    Assembly,
    Section,
    Turn,
    TurnNotes,
    Window,
    assemble,
    post_history_text,
)
from app.memory.checkpoint import ReplyWriter
from app.memory.records import Chat, StoredMessage
from app.memory.store import ChatStore
from app.memory.summaries import Summariser
from app.memory.turn_inputs import (
    TurnInputs,
    recall_for,
    scan_lore,
    summaries_for,
    timers_for,
    timers_meta,
)
from app.prompts.formats import PromptFormat, choose_format, role_play_stops
from app.prompts.messages import Message
from app.settings import Settings
from app.sheets import library
from app.sheets.lorebook import Lorebook
from app.sheets.macros import substitute
from app.sheets.sheet import Sheet


def greeting(sheet: Sheet, user: str) -> str:
    return substitute(sheet.first_message.strip(), char=sheet.name, user=user)


def greetings(sheet: Sheet, user: str) -> list[str]:
    """The first message and the alternate greetings: the greeting's swipes, in card order."""
    texts = [sheet.first_message, *sheet.alternate_greetings]
    found = (substitute(text.strip(), char=sheet.name, user=user) for text in texts)
    return [text for text in found if text]


def visible_path(store: ChatStore, chat_id: int) -> list[StoredMessage]:
    """The active path as the user sees it, without empty (stopped at once) or hidden messages."""
    return [m for m in store.active_path(chat_id) if m.content.strip() and not m.meta.get("hidden")]


IMPERSONATE = (
    "[Write {user}'s next message in this conversation, in first person, as {user} would say it "
    "to {char}. Write only {user}'s words and actions, nothing of {char}'s.]"
)
"""The instruction behind impersonation (the model drafts the user's line for editing)."""


@dataclass
class ChatSession:
    sheet: Sheet
    fmt: PromptFormat
    engine: Engine
    user: str = "User"
    user_description: str = ""
    history: list[Message] = field(default_factory=list)
    """The active path, greeting first; mirrors the store when there is one."""
    ids: list[int] = field(default_factory=list)
    """The store's ids of `history`'s messages, in step with it (empty without a store)."""
    store: ChatStore | None = None
    chat: Chat | None = None
    model_name: str | None = None
    reserve: int = 300
    """Tokens kept free for the reply; `send` sets it from the sampling's max_tokens."""
    books: list[Lorebook] = field(default_factory=list)
    """The lorebooks that can fire in this chat: the world books the sheet names, then its own."""
    summariser: Summariser | None = None
    """Writes summaries of evicted turns in the background (saved chats only)."""
    state_path: Path | None = None
    """Where the KV cache is saved on close, so reopening the chat need not re-read it."""
    meta: dict[str, Any] = field(default_factory=dict)
    """The chat's metadata when it is not saved (lore timers live here)."""
    inputs: TurnInputs = field(default_factory=TurnInputs)
    """Lore, summaries and recalled messages of the last assembled prompt."""
    last_prompt: str = ""
    """The text of the last prompt sent to the engine."""

    def __post_init__(self) -> None:
        self._count = lru_cache(maxsize=4096)(self.engine.count_tokens)
        self._evicted: list[int] = []

    def assembly(
        self,
        pending: str | None = None,
        notes: TurnNotes | None = None,
        *,
        history: list[Message] | None = None,
    ) -> Assembly:
        """The prompt's sections for `history` (default: the whole active path) + `pending`.

        Lore fires on the texts in the scan window, summaries stand in for evicted turns, and
        older messages that match the user's line are recalled, unless still in the window.
        """
        past = self.history if history is None else history
        ids = self.ids[: len(past)]
        turns = [Turn(m.role, m.content, ids[i] if i < len(ids) else None)
                 for i, m in enumerate(past)]
        if pending is not None:
            turns.append(Turn("user", pending))
        if notes is None:
            notes = TurnNotes(
                post_history=post_history_text(self.sheet, user=self.user),
                state=self.state_values(),
            )
        chat_id = self.chat.id if self.chat is not None else None
        turn = sum(t.role == "user" for t in turns)
        lore = scan_lore(
            self.books,
            [t.content for t in turns],
            turn=turn,
            seed=chat_id or 0,
            timers=timers_for(self.chat_meta, turn),
            char=self.sheet.name,
            user=self.user,
            count=self._count,
            n_ctx=self.engine.n_ctx,
        )
        fixed, triggered = lore.prompt_lore() if lore is not None else ([], [])
        notes.lore = triggered
        summaries = summaries_for(self.store, chat_id)
        inputs = TurnInputs(lore, summaries)

        def lay_out() -> Assembly:
            return assemble(
                self.sheet,
                turns,
                user=self.user,
                user_description=self.user_description,
                count=self._count,
                window=Window(n_ctx=self.engine.n_ctx, reserve=self.reserve),
                constant_lore=fixed,
                summary=inputs.summary_text,
                notes=notes,
            )

        assembly = lay_out()
        query = pending if pending is not None else next(
            (t.content for t in reversed(turns) if t.role == "user"), None
        )
        in_window = {t.id for t in turns[assembly.first_kept :] if t.id is not None}
        inputs.recalled = recall_for(
            self.store, chat_id, query, in_window=in_window, now_turn=len(turns)
        )
        if inputs.recalled:
            notes.memories = [
                f"{self.user if r.message.role == 'user' else self.sheet.name}: {r.message.content}"
                for r in inputs.recalled
            ]
            assembly = lay_out()
        self.inputs = inputs
        self._evicted = [t.id for t in assembly.evicted if t.id is not None]
        _explain_inputs(assembly, inputs)
        return assembly

    @property
    def chat_meta(self) -> dict[str, Any]:
        """The chat's metadata: the stored chat's, or the in-memory one of an unsaved chat."""
        return self.chat.meta if self.chat is not None else self.meta

    def state_values(self) -> dict[str, object]:
        """The sheet's state variables: the chat's values, else their defaults."""
        saved = self.chat_meta.get("state")
        values = saved if isinstance(saved, dict) else {}
        return {v.name: values.get(v.name, v.default) for v in self.sheet.state}

    def messages(self, pending: str | None = None) -> list[Message]:
        return self.assembly(pending).messages

    def prompt(self, pending: str | None = None, *, history: list[Message] | None = None) -> str:
        return self.fmt.render(self.assembly(pending, history=history).messages)

    @property
    def stops(self) -> list[str]:
        return role_play_stops(self.fmt, self.user)

    def send(self, text: str, sampling: Sampling) -> Reply:
        """Commit the user's line, then start the character's reply to it."""
        self.reserve = sampling.max_tokens
        prompt = self.prompt(text)
        writer = None
        if self.store is not None and self.chat is not None:
            stored = self.store.add_message(self.chat.id, "user", text, name=self.user)
            self.ids.append(stored.id)
            writer = ReplyWriter(self.store, self.chat.id, name=self.sheet.name)
        self.history.append(Message("user", text))
        self._keep_lore_timers()
        return self._reply(prompt, sampling, writer)

    def _keep_lore_timers(self) -> None:
        """Save the lore timers the turn being replied to leaves behind (its user line is the
        last of the history): sticky, cooldown and delay count on from them."""
        lore = self.inputs.lore
        if lore is None:
            return
        turn = sum(m.role == "user" for m in self.history)
        update = timers_meta(timers_for(self.chat_meta, turn), lore.timers, turn)
        if self.store is not None and self.chat is not None:
            self.chat = self.store.update_chat(self.chat.id, meta=update)
        else:
            self.meta.update(update)

    def _reply(
        self, prompt: str, sampling: Sampling, writer: ReplyWriter | None, *, prefix: str = ""
    ) -> Reply:
        """Start generating; background summaries keep off the model until the reply is done."""
        self.last_prompt = prompt
        hold: AbstractContextManager[None] = (
            self.summariser.replying() if self.summariser is not None else nullcontext()
        )
        hold.__enter__()
        try:
            generation = self.engine.generate(prompt, sampling, stop=self.stops)
        except BaseException:
            hold.__exit__(None, None, None)
            raise
        return Reply(self, generation, writer, sampling, prefix=prefix, hold=hold)

    def after_reply(self) -> None:
        """Hand the turns the window dropped to the summariser (it skips covered ones)."""
        if self.summariser is not None and self.chat is not None and self._evicted:
            self.summariser.submit(self.chat.id, self._evicted)

    def close(self) -> None:
        """End the session: stop background summaries, save the KV cache for the next open.

        The engine stays open (its owner closes it). A failed save only costs a re-read later.
        """
        if self.summariser is not None:
            self.summariser.close()
            self.summariser = None
        save = getattr(self.engine, "save_state_file", None)
        if self.state_path is not None and save is not None:
            try:
                self.state_path.parent.mkdir(parents=True, exist_ok=True)
                save(self.state_path)
            except (OSError, LoreweaverError):
                pass

    def restore_cache(self) -> bool:
        """Load the KV cache saved for this chat when it matches the model and the prompt."""
        load = getattr(self.engine, "load_state_file", None)
        if self.state_path is None or load is None or not self.state_path.is_file():
            return False
        return load(self.state_path, self.prompt(history=self.history)) is not None

    # -- the chat tree: swipes, regenerate, continue, edit, delete, branch --------------------

    def _stored(self) -> tuple[ChatStore, Chat]:
        if self.store is None or self.chat is None:
            raise LoreweaverError("this chat is not saved, so it has no swipes, edits or branches")
        return self.store, self.chat

    def reload(self) -> None:
        """Re-read the active path from the store (after any change to the tree)."""
        store, chat = self._stored()
        self.chat = store.get_chat(chat.id)
        path = visible_path(store, chat.id)
        self.history = [m.as_message() for m in path]
        self.ids = [m.id for m in path]

    def regenerate(self, sampling: Sampling) -> Reply:
        """A new reply to the last user line, kept as another swipe beside the current one.

        When the path ends on the user's line (its reply was stopped empty or deleted), this
        simply replies to it.
        """
        store, chat = self._stored()
        if not self.history or (self.history[-1].role == "assistant" and len(self.history) == 1):
            raise LoreweaverError(
                "nothing to regenerate yet: the greeting's swipes are the alternate greetings"
            )
        if self.history[-1].role == "assistant":
            parent = store.get_message(self.ids[-1]).parent_id
            base = self.history[:-1]
            self.history, self.ids = base, self.ids[:-1]
        else:
            parent = self.ids[-1]
            base = self.history
        self.reserve = sampling.max_tokens
        prompt = self.prompt(history=base)
        writer = ReplyWriter(store, chat.id, parent_id=parent, name=self.sheet.name)
        self._keep_lore_timers()
        return self._reply(prompt, sampling, writer)

    def continue_reply(self, sampling: Sampling) -> Reply:
        """More of the last reply: the model picks up where the text stops, in the same message."""
        if not self.history or self.history[-1].role != "assistant":
            raise LoreweaverError("there is no reply to continue: the last message is the user's")
        last = self.history[-1]
        self.reserve = sampling.max_tokens
        prompt = self.prompt(history=self.history[:-1]) + last.content
        writer = None
        if self.store is not None and self.chat is not None:
            writer = ReplyWriter(
                self.store, self.chat.id, extend=self.store.get_message(self.ids[-1])
            )
        self.history, self.ids = self.history[:-1], self.ids[:-1]
        return self._reply(prompt, sampling, writer, prefix=last.content)

    def impersonate(self, sampling: Sampling) -> Generation:
        """The model drafts the user's next line (not stored: the user edits and sends it)."""
        instruction = substitute(IMPERSONATE, char=self.sheet.name, user=self.user)
        self.reserve = sampling.max_tokens
        prompt = self.prompt(instruction)
        return self.engine.generate(
            prompt, sampling, stop=role_play_stops(self.fmt, self.sheet.name)
        )

    def swipe_position(self, index: int = -1) -> tuple[int, int]:
        """(n, of) for the message at `index` of the history: it is swipe n of `of` (1-based)."""
        store, _ = self._stored()
        siblings = [m.id for m in store.swipes(self.ids[index])]
        return siblings.index(self.ids[index]) + 1, len(siblings)

    def swipe(self, step: int, index: int = -1) -> tuple[int, int]:
        """Show the alternative `step` places left (−) or right (+) of the message at `index`.

        Returns the new (n, of); raises when there is nothing further that way.
        """
        store, _ = self._stored()
        if not self.ids:
            raise LoreweaverError("the chat is empty")
        siblings = [m.id for m in store.swipes(self.ids[index])]
        target = siblings.index(self.ids[index]) + step
        if not 0 <= target < len(siblings):
            raise LoreweaverError("no more swipes that way")
        store.select(siblings[target])
        self.reload()
        return target + 1, len(siblings)

    def edit(self, index: int, text: str) -> None:
        """Replace the text of the history's message at `index` (the old text is kept)."""
        store, _ = self._stored()
        if not text.strip():
            raise LoreweaverError("a message cannot be edited to nothing: delete it instead")
        store.edit(self.ids[index], text)
        self.reload()

    def delete(self, index: int) -> None:
        """Delete the history's message at `index` and everything after it on this branch."""
        store, _ = self._stored()
        store.delete(self.ids[index])
        self.reload()

    def branch(self, index: int) -> Chat:
        """Start a new chat from the history up to `index`; the session moves to it."""
        store, _ = self._stored()
        self.chat = store.branch(self.ids[index])
        self.reload()
        return self.chat

    def set_persona(self, name: str, description: str = "") -> None:
        """Who the user is in this chat: name and description, kept with the chat."""
        name = " ".join(name.split())
        if not name:
            raise LoreweaverError("a persona needs a name")
        self.user, self.user_description = name, description.strip()
        if self.store is not None and self.chat is not None:
            self.chat = self.store.update_chat(
                self.chat.id, user_name=self.user, meta={"user_description": self.user_description}
            )


class Reply:
    """A reply streaming in: iterate it for text, `cancel()` from anywhere, then `finish()`."""

    def __init__(
        self,
        session: ChatSession,
        generation: Generation,
        writer: ReplyWriter | None,
        sampling: Sampling,
        *,
        prefix: str = "",
        hold: AbstractContextManager[None] | None = None,
    ) -> None:
        """`prefix`: the text a continued reply already had (the new text is appended to it);
        `hold`: released when the reply is finished (it keeps background work off the model)."""
        self.hold = hold
        self.session = session
        self.generation = generation
        self.writer = writer
        self.sampling = sampling
        self.prefix = prefix
        self.finished = False
        self._shown: list[str] = []
        self._pieces: Iterator[str] | None = None

    def __iter__(self) -> Iterator[str]:
        if self._pieces is None:
            self._pieces = iter(self.generation)
            if not self.prefix:
                self._pieces = without_speaker(self._pieces, self.session.sheet.name)
        for piece in self._pieces:
            if self.writer is not None:
                self.writer.append(piece)
            self._shown.append(piece)
            yield piece

    def cancel(self) -> None:
        self.generation.cancel()

    @property
    def text(self) -> str:
        """What the reply has said so far (without a leading "Name:" the model wrote)."""
        return "".join(self._shown)

    @property
    def stats(self) -> GenerationStats:
        return self.generation.stats

    def finish(self) -> str:
        """Keep the reply (a stopped one keeps what was produced) in the history and store."""
        if self.finished:
            return (self.prefix + self.text).strip()
        self.finished = True
        try:
            for _ in self:  # drain whatever is left (after a cancel)
                pass
        finally:
            if self.hold is not None:
                self.hold.__exit__(None, None, None)
                self.hold = None
        reply = (self.prefix + self.text).strip()
        session = self.session
        if self.writer is not None:
            self.writer.complete(
                self.generation,
                text=reply,
                model=session.model_name,
                template=session.fmt.id,
                sampling=self.sampling,
            )
            session.reload()
        elif reply:
            session.history.append(Message("assistant", reply))
        session.after_reply()
        return reply


def without_speaker(pieces: Iterator[str], name: str) -> Iterator[str]:
    """The pieces, minus a leading "Name:" the model wrote before its reply (small models often
    do): the opening is held back only until it can no longer be that label."""
    label = f"{name}:"
    held = ""
    for piece in pieces:
        held += piece
        opening = held.lstrip()
        if label.startswith(opening):
            continue  # still possibly the label: wait for more
        if opening.startswith(label):
            held = opening[len(label) :].lstrip(" ")
        if held:
            yield held
        break
    else:
        if held.strip() and held.lstrip() != label:
            yield held
        return
    yield from pieces


def _explain_inputs(assembly: Assembly, inputs: TurnInputs) -> None:
    """Say in the assembly's sections what fired, what was cut, what was summarised or recalled."""
    lore = inputs.lore
    if lore is not None:
        constant = [f"{a.title}: {a.reason} ({a.tokens} tokens)"
                    for a in lore.activated if a.constant]
        triggered = [f"lore {a.title}: {a.reason} ({a.tokens} tokens)"
                     for a in lore.activated if not a.constant]
        _section(assembly, "constant lore").lines = constant + [f"! {n}" for n in lore.notices]
        notes = _section(assembly, "per-turn notes")
        notes.lines = triggered + [line for line in notes.lines if not line.startswith("lore: ")]
        assembly.sections.append(Section(
            "lore not used",
            0,
            [f"{r.title} [{r.book}]: {r.reason}" for r in lore.rejected]
            + [f"budget: {lore.tokens}/{lore.budget} tokens used"],
        ))
    if inputs.summaries:
        _section(assembly, "summary").lines = [s.describe() for s in inputs.summaries]
    if inputs.recalled:
        notes = _section(assembly, "per-turn notes")
        notes.lines = [line for line in notes.lines if not line.startswith("memory: ")] + [
            f"recalled message {r.message.id}: {r.why} (score {r.score:.2f})"
            for r in inputs.recalled
        ]


def _section(assembly: Assembly, name: str) -> Section:
    return next(s for s in assembly.sections if s.name == name)


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
        with store.transaction():
            first = None
            for text in greetings(sheet, user):
                stored = store.add_message(
                    chat.id, "assistant", text, parent_id=None, name=sheet.name
                )
                first = first or stored
            if first is not None:
                store.select(first.id)
    history = [m.as_message() for m in visible_path(store, chat.id)]
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
    engine = load_engine(info, n_threads=settings.n_threads, n_ctx_cap=settings.n_ctx)
    try:
        session = start_session(
            engine, info, fmt, sheet, character_id, settings,
            user=user, store=store, resume=resume, home=home,
        )
        if resume is not None and resume is not False:
            session.restore_cache()
        return session
    except BaseException:
        engine.close()
        raise


def start_session(
    engine: Engine,
    info: ModelInfo,
    fmt: PromptFormat,
    sheet: Sheet,
    character_id: str,
    settings: Settings,
    *,
    user: str | None = None,
    store: ChatStore | None = None,
    resume: int | bool | None = None,
    home: Home | None = None,
    summaries: bool = True,
) -> ChatSession:
    """A session on an already loaded engine: a new chat, or a saved one to resume.

    A resumed chat keeps the persona it was played with unless `user` names another. With a
    `home`, the sheet's world lorebooks are found there and the KV cache is saved there on
    close (`restore_cache` loads it); with a store and `summaries`, evicted turns get summarised.
    """
    name = user or settings.user_name
    if home is not None:
        books = [book for _, book in library.world_books(home, sheet)]
    else:
        books = [sheet.character_book] if sheet.character_book is not None else []
    session = ChatSession(
        sheet=sheet,
        fmt=fmt,
        engine=engine,
        user=name,
        user_description=settings.user_description,
        history=[Message("assistant", text) for text in greetings(sheet, name)[:1]],
        store=store,
        model_name=info.path.name,
        books=books,
    )
    if store is not None:
        session.chat, _ = open_chat(store, character_id, sheet, user=name, resume=resume)
        session.reload()
        if user is None:
            session.user = session.chat.user_name
            session.user_description = str(
                session.chat.meta.get("user_description", settings.user_description)
            )
        if summaries:
            session.summariser = Summariser(
                store, engine, fmt, char=sheet.name, user=session.user
            )
        if home is not None:
            session.state_path = home.root / "kv-cache" / f"chat-{session.chat.id}.lwkv"
    session.reserve = settings.sampling.max_tokens
    return session
