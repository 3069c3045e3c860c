"""A chat with one character: the domain object behind `loreweaver chat` and the TUI.

It wires the pieces together — sheet → prompt assembly → the model's prompt format → engine —
and, when given a store, makes the chat durable: the user's line is committed before the reply
starts, and the reply is checkpointed while it streams. It knows nothing of terminals: callers
iterate the `Reply` it returns and call `finish()`.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from app.engine.base import Engine, Generation, Sampling
from app.errors import LoreweaverError
from app.memory.assembly import (
    Assembly,
    Turn,
    TurnNotes,
    Window,
    assemble,
    post_history_text,
)
from app.memory.checkpoint import ReplyWriter
from app.memory.history import PathHistory, PromptTurns, Texts, ids_of, roles_of, tokenizer_key
from app.memory.message_cap import cap_text, marker
from app.memory.records import Chat
from app.memory.store import ChatStore
from app.memory.summaries import Summariser
from app.memory.turn_inputs import (
    TurnInputs,
    explain_inputs,
    recall_for,
    scan_lore,
    summaries_for,
    timers_for,
    timers_meta,
)
from app.prompts.formats import PromptFormat, role_play_stops
from app.prompts.messages import Message
from app.reply import Reply
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


def visible_path(store: ChatStore, chat_id: int) -> PathHistory:
    """The active path as the user sees it, without empty (stopped at once) or hidden messages;
    texts are read only for the messages looked at."""
    return PathHistory.load(store, chat_id)


SHOWN_PAGE = 100
"""Messages a screen shows at first, and pages in at a time when scrolled back."""
SHOWN_CHARS = 50_000
"""A longer message is shown cut, with a marker (editing it still edits the whole text)."""


def _shown_text(text: str) -> str:
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + marker(
        len(text) - SHOWN_CHARS
    )


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
    history: Sequence[Message] = field(default_factory=list)
    """The active path, greeting first: a list for an unsaved chat; with a store, a
    `PathHistory` mirroring it (its texts are read only for the window and what is shown)."""
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
        self._tokenizer = tokenizer_key(self.engine, self.engine.n_ctx)
        if isinstance(self.history, PathHistory) and not self.ids:
            self.ids = self.history.ids

    def assembly(
        self,
        pending: str | None = None,
        notes: TurnNotes | None = None,
        *,
        history: Sequence[Message] | None = None,
    ) -> Assembly:
        """The prompt's sections for `history` (default: the whole active path) + `pending`.

        Lore fires on the texts in the scan window, summaries stand in for evicted turns, and
        older messages that match the user's line are recalled, unless still in the window.
        """
        past = self.history if history is None else history
        n_ctx = self.engine.n_ctx
        tail = [] if pending is None else [Turn("user", self._capped(pending))]
        turns: Sequence[Turn]
        sizes: list[int] | None = None
        if isinstance(past, PathHistory):
            turns = PromptTurns(past, tail, n_ctx=n_ctx, count=self._count)
            sizes = turns.sizes()
        else:
            ids = self.ids[: len(past)]
            turns = [Turn(m.role, self._capped(m.content), ids[i] if i < len(ids) else None)
                     for i, m in enumerate(past)] + tail
        if notes is None:
            notes = TurnNotes(
                post_history=post_history_text(self.sheet, user=self.user),
                state=self.state_values(),
            )
        chat_id = self.chat.id if self.chat is not None else None
        turn = roles_of(turns).count("user")
        lore = scan_lore(
            self.books,
            Texts(turns),
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
                sizes=sizes,
            )

        assembly = lay_out()
        query = pending if pending is not None else next(
            (t.content for t in reversed(turns) if t.role == "user"), None
        )
        in_window = set(ids_of(turns[assembly.first_kept :]))
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
        self._evicted = ids_of(assembly.evicted)
        explain_inputs(assembly, inputs)
        return assembly

    def _capped(self, text: str) -> str:
        """The prompt's copy of a message: cut with a marker when over its share of the window."""
        return cap_text(text, len(text), self.engine.n_ctx, self._count)

    def page(self, start: int, stop: int | None = None) -> list[tuple[Message, int | None]]:
        """The history's messages at [start, stop) for showing, with their store ids: a long
        chat is shown (and paged in) a window at a time, each text cut at `SHOWN_CHARS`."""
        stop = len(self.history) if stop is None else stop
        ids: list[int | None] = list(self.ids[start:stop])
        ids += [None] * (stop - start - len(ids))
        if isinstance(self.history, PathHistory):
            shown = self.history.page(start, stop, SHOWN_CHARS)
        else:
            shown = [Message(m.role, _shown_text(m.content)) for m in self.history[start:stop]]
        return list(zip(shown, ids, strict=True))

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

    def prompt(
        self, pending: str | None = None, *, history: Sequence[Message] | None = None
    ) -> str:
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
        if isinstance(self.history, PathHistory):
            self.history = self.history.appended(self.ids[-1], "user")
        elif isinstance(self.history, list):
            self.history.append(Message("user", text))
        self._keep_lore_timers()
        return self._reply(prompt, sampling, writer)

    def _keep_lore_timers(self) -> None:
        """Save the lore timers the turn being replied to leaves behind (its user line is the
        last of the history): sticky, cooldown and delay count on from them."""
        lore = self.inputs.lore
        if lore is None:
            return
        turn = roles_of(self.history).count("user")
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
        self.history = PathHistory.load(store, chat.id, self._tokenizer)
        self.ids = self.history.ids

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
