"""A chat with one character: the domain object behind `loreweaver chat` and the TUI.

It wires the pieces together — sheet → prompt assembly → the model's prompt format → engine —
and, when given a store, makes the chat durable: the user's line is committed before the reply
starts, and the reply is checkpointed while it streams. It knows nothing of terminals: callers
iterate the `Reply` it returns and call `finish()`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

from app import session_meta, session_tree
from app.engine.adapters import Adapter
from app.engine.base import Engine, Generation, Sampling
from app.errors import LoreweaverError
from app.memory.assembly import Assembly, TurnNotes
from app.memory.authors_note import AuthorsNote, save_note
from app.memory.chat_state import StateEntry
from app.memory.history import PathHistory, roles_of, tokenizer_key
from app.memory.lore import WorldInfoSettings, timers_for, timers_meta
from app.memory.store import Chat, ChatStore, ReplyWriter
from app.memory.summaries import Summariser
from app.memory.turn_inputs import TurnInputs
from app.npc import structured
from app.prompts.formats import PromptFormat, role_play_stops
from app.prompts.messages import Message
from app.reply import Reply
from app.session_chat import (  # noqa: F401 (re-exported)
    SHOWN_PAGE,
    greetings,
    shown_page,
    store_new_chat,
    visible_path,
)
from app.session_prompt import TurnPlan, turn_plan
from app.sheets.lorebook import Lorebook
from app.sheets.macros import substitute
from app.sheets.sheet import Sheet

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
    """The stored chat; None until a new chat's first line (`saved_chat` stores it then)."""
    character_id: str = ""
    """Whose chat a new one is, when it gets stored."""
    model_name: str | None = None
    reserve: int = 300
    """Tokens kept free for the reply; `send` sets it from the sampling's max_tokens."""
    books: list[Lorebook] = field(default_factory=list)
    """The lorebooks that can fire in this chat: the world books the sheet names, then its own."""
    world_info: WorldInfoSettings = field(default_factory=WorldInfoSettings)
    """What the books leave unset (the settings' `world_info`)."""
    summariser: Summariser | None = None
    """Writes summaries of evicted turns in the background (saved chats only)."""
    state_path: Path | None = None
    """Where the KV cache is saved on close, so reopening the chat need not re-read it."""
    cache_dir: Path | None = None
    """Where a new chat's `state_path` goes once it is stored."""
    meta: dict[str, Any] = field(default_factory=dict)
    """The chat's metadata when it is not saved (lore timers live here)."""
    last_prompt: str = ""
    """The text of the last prompt sent to the engine."""
    authors_note: AuthorsNote | None = None
    """The chat's author's note (kept in the store for a saved chat)."""
    extra_stops: list[str] = field(default_factory=list)
    """The settings' stop strings, for every chat."""
    notices: list[str] = field(default_factory=list)
    """Warnings about the setup for the user (a prompt format the model was not tuned on)."""
    adapters: tuple[Adapter, ...] = ()
    """The LoRA set the character speaks with (`app.speaker_adapters`), applied before each
    generation: a group scene or another character may have used the engine since."""

    def __post_init__(self) -> None:
        self.count_tokens = lru_cache(maxsize=4096)(self.engine.count_tokens)
        """The engine's token count, cached (the same texts are counted every turn)."""
        self.tokenizer = tokenizer_key(self.engine, self.engine.n_ctx)
        """Whose token counts the store caches for this session's window."""
        if isinstance(self.history, PathHistory) and not self.ids:
            self.ids = self.history.ids

    def plan(
        self,
        pending: str | None = None,
        notes: TurnNotes | None = None,
        *,
        history: Sequence[Message] | None = None,
    ) -> TurnPlan:
        """The prompt for `history` (default: the whole active path) + `pending`, with the
        lore, summaries and recall it drew on and the turns it evicted (see `session_prompt`).
        A pure query: the session is not changed, so any thread may ask."""
        return turn_plan(self, self.history if history is None else history, pending, notes)

    def assembly(
        self,
        pending: str | None = None,
        notes: TurnNotes | None = None,
        *,
        history: Sequence[Message] | None = None,
    ) -> Assembly:
        """The prompt's sections alone (see `plan`)."""
        return self.plan(pending, notes, history=history).assembly

    def page(self, start: int, stop: int | None = None) -> list[tuple[Message, int | None]]:
        """The history's messages at [start, stop) for showing, with their store ids (see
        `shown_page`)."""
        return shown_page(self.history, self.ids, start, stop)

    @property
    def chat_meta(self) -> dict[str, Any]:
        """The chat's metadata: the stored chat's, or the in-memory one of an unsaved chat."""
        return self.chat.meta if self.chat is not None else self.meta

    # -- the chat's own settings: state, stop strings, persona, author's note (`session_meta`) --

    def state_values(self) -> dict[str, object]:
        return session_meta.state_values(self)

    def state(self) -> list[StateEntry]:
        return session_meta.state(self)

    def set_state(self, name: str, raw: str) -> StateEntry:
        return session_meta.set_state(self, name, raw)

    @property
    def stops(self) -> list[str]:
        return session_meta.stops(self)

    def set_stops(self, stops: list[str]) -> None:
        session_meta.set_stops(self, stops)

    def set_authors_note(self, note: AuthorsNote | None) -> None:
        session_meta.set_authors_note(self, note)

    def set_persona(self, name: str, description: str = "") -> None:
        session_meta.set_persona(self, name, description)

    def messages(self, pending: str | None = None) -> list[Message]:
        return self.assembly(pending).messages

    def prompt(
        self, pending: str | None = None, *, history: Sequence[Message] | None = None
    ) -> str:
        return self.fmt.render(self.assembly(pending, history=history).messages)

    def saved_chat(self) -> Chat | None:
        """The stored chat; a new chat is stored now, with what was set on it in memory
        (persona, state, lore timers, author's note). None without a store."""
        if self.store is None or self.chat is not None:
            return self.chat
        self.chat = store_new_chat(
            self.store,
            self.character_id,
            self.sheet,
            user=self.user,
            meta={**self.meta, "user_description": self.user_description},
        )
        save_note(self.store, self.chat.id, self.authors_note)
        if self.cache_dir is not None:
            self.state_path = self.cache_dir / f"chat-{self.chat.id}.lwkv"
        self.reload()
        return self.chat

    def send(self, text: str, sampling: Sampling) -> Reply:
        """Commit the user's line (storing a new chat first), then build the prompt and start
        the character's reply.

        The line is stored before anything can fail: if building the prompt (lore, recall, the
        template) or starting the engine fails, the line stays and a `failed` reply row under it
        says why; the error is raised as one `LoreweaverError` line.
        """
        self.reserve = sampling.max_tokens
        line: int | None = None
        chat = self.saved_chat()
        if self.store is not None and chat is not None:
            line = self.store.add_message(chat.id, "user", text, name=self.user).id
            self.ids.append(line)
        if isinstance(self.history, PathHistory) and line is not None:
            self.history = self.history.appended(line, "user")
        elif isinstance(self.history, list):
            self.history.append(Message("user", text))
        try:
            plan = self.plan(text, history=self.history[:-1])
            prompt = self.fmt.render(plan.assembly.messages)
            self._keep_lore_timers(plan.inputs)
            return self._reply(prompt, sampling, self._writer(parent_id=line), plan.evicted)
        except BaseException as exc:
            error = self._failed(line, exc)
            if error is None:
                raise
            raise error from exc

    def _writer(self, **how: Any) -> Callable[[], ReplyWriter | None]:
        """Makes the reply's row once the engine has started (no row for an unsaved chat);
        `how` as for `ReplyWriter`: `parent_id`, or `extend`."""
        store, chat = self.store, self.chat
        if store is None or chat is None:
            return lambda: None
        return lambda: ReplyWriter(store, chat.id, name=self.sheet.name, **how)

    def _failed(self, parent: int | None, exc: BaseException) -> LoreweaverError | None:
        """Store a `failed` reply under the user's line `parent`, saying why; the one-line error
        to raise instead of `exc` (None: let it through, as for Ctrl-C)."""
        stopped = not isinstance(exc, Exception)
        reason = (
            "stopped before the reply began"
            if stopped
            else (" ".join(str(exc).split()) or type(exc).__name__)
        )
        if parent is not None and self.store is not None and self.chat is not None:
            with contextlib.suppress(LoreweaverError):
                self.store.add_message(
                    self.chat.id,
                    "assistant",
                    "",
                    parent_id=parent,
                    name=self.sheet.name,
                    status="failed",
                    meta={"error": reason},
                )
            reason += f" (your line is saved in chat {self.chat.id})"
        return None if stopped else LoreweaverError(f"no reply: {reason}")

    def last_failure(self) -> str | None:
        """Why the reply at the end of the active path failed, if it did (shown on resume)."""
        if self.store is None or self.chat is None:
            return None
        leaf_id = self.store.get_chat(self.chat.id).active_leaf_id
        leaf = self.store.get_message(leaf_id) if leaf_id is not None else None
        if leaf is None or leaf.status != "failed":
            return None
        return str(leaf.meta.get("error", "unknown reason"))

    def _keep_lore_timers(self, inputs: TurnInputs) -> None:
        """Save the lore timers the turn being replied to leaves behind (its user line is the
        last of the history): sticky, cooldown and delay count on from them."""
        lore = inputs.lore
        if lore is None:
            return
        turn = roles_of(self.history).count("user")
        update = timers_meta(timers_for(self.chat_meta, turn), lore.timers, turn)
        if self.store is not None and self.chat is not None:
            self.chat = self.store.update_chat(self.chat.id, meta=update)
        else:
            self.meta.update(update)

    def _reply(
        self,
        prompt: str,
        sampling: Sampling,
        writer: Callable[[], ReplyWriter | None],
        evicted: Sequence[int] = (),
        *,
        prefix: str = "",
    ) -> Reply:
        """Start generating, then make the reply's row (`writer`), so an engine that refuses
        to start leaves no empty `streaming` row. Background summaries keep off the model
        while the reply holds it; once it is kept, the `evicted` turns go to the summariser."""
        self.last_prompt = prompt
        self.engine.use_adapters(self.adapters)  # nothing to do when it is the set applied
        with ExitStack() as hold:
            if self.summariser is not None:
                hold.enter_context(self.summariser.replying())
            generation = structured.start(self, prompt, sampling, self.stops, prefix)
            try:
                made = writer()
            except BaseException:
                generation.cancel()
                raise
            keep = partial(self._keep_reply, generation, made, sampling, list(evicted))
            return Reply(
                generation, made, keep, speaker=self.sheet.name, prefix=prefix, hold=hold.pop_all()
            )

    def _keep_reply(
        self,
        generation: Generation,
        writer: ReplyWriter | None,
        sampling: Sampling,
        evicted: list[int],
        text: str,
    ) -> None:
        """A finished reply's `keep`: store it (or add it to an unsaved chat's history), then
        hand the turns its prompt's window dropped to the summariser (it skips covered ones)."""
        if writer is not None:
            writer.complete(
                generation,
                text=text,
                model=self.model_name,
                template=self.fmt.id,
                sampling=sampling,
                extra=structured.reply_annotations(generation),
            )
            self.reload()
        elif text:
            self.history = [*self.history, Message("assistant", text)]
        if self.summariser is not None and self.chat is not None and evicted:
            self.summariser.submit(self.chat.id, evicted)

    def close(self) -> None:
        """End the session: stop background summaries, save the KV cache for the next open.

        The engine stays open (its owner closes it). A failed save only costs a re-read later.
        """
        if self.summariser is not None:
            self.summariser.close()
            self.summariser = None
        if self.state_path is not None and self.engine.keeps_state:
            try:
                self.state_path.parent.mkdir(parents=True, exist_ok=True)
                self.engine.save_state_file(self.state_path)
            except (OSError, LoreweaverError):
                pass

    def restore_cache(self) -> bool:
        """Load the KV cache saved for this chat when it matches the model and the prompt."""
        path = self.state_path
        if path is None or not self.engine.keeps_state or not path.is_file():
            return False
        return self.engine.load_state_file(path, self.prompt(history=self.history)) is not None

    # -- the chat tree: swipes, regenerate, continue, edit, delete, branch (`session_tree`) ----

    def reload(self) -> None:
        """Re-read the active path from the store (after any change to the tree)."""
        session_tree.reload(self)

    def regenerate(self, sampling: Sampling) -> Reply:
        return session_tree.regenerate(self, sampling)

    def continue_reply(self, sampling: Sampling) -> Reply:
        return session_tree.continue_reply(self, sampling)

    def swipe_position(self, index: int = -1) -> tuple[int, int]:
        return session_tree.swipe_position(self, index)

    def swipe(self, step: int, index: int = -1) -> tuple[int, int]:
        return session_tree.swipe(self, step, index)

    def edit(self, index: int, text: str) -> None:
        session_tree.edit(self, index, text)

    def delete(self, index: int) -> None:
        session_tree.delete(self, index)

    def branch(self, index: int) -> Chat:
        return session_tree.branch(self, index)

    def impersonate(self, sampling: Sampling) -> Generation:
        """The model drafts the user's next line (not stored: the user edits and sends it)."""
        instruction = substitute(IMPERSONATE, char=self.sheet.name, user=self.user)
        self.reserve = sampling.max_tokens
        prompt = self.prompt(instruction)
        self.engine.use_adapters(self.adapters)
        return self.engine.generate(
            prompt, sampling, stop=role_play_stops(self.fmt, self.sheet.name)
        )
