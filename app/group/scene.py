"""A group scene: the cast, the player, the scene text and one history of labelled lines, kept
as one chat tree in the store (each NPC line's `name` and `meta["speaker"]` say who spoke)."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from app import session_tree
from app.engine.adapters import Adapter
from app.engine.base import Engine, Generation, GenerationStats, Sampling
from app.errors import LoreweaverError
from app.group import state
from app.group.cast import Member
from app.group.kvlines import MAX_HELD_LINES, Mode, SpeakerLines
from app.group.order import Order, next_speaker, pick
from app.group.prompt import Line, NpcPlan, foreign_label, npc_plan, render, scene_stops
from app.memory.assembly import Assembly
from app.memory.lore import LoreResult, timers_for, timers_meta
from app.memory.store import Chat, ChatStore
from app.npc.structured import reply_annotations
from app.prompts.formats import PromptFormat
from app.reply import without_speaker
from app.sheets.macros import substitute

GROUP_META = "group"
"""The chat metadata key holding the cast ids and the scene text."""


def scene_id(cast: Sequence[Member]) -> str:
    """The chat's owner id for a scene: its cast, in order."""
    return "group:" + "+".join(m.id for m in cast)


@dataclass
class GroupScene:
    cast: list[Member]
    fmt: PromptFormat
    engine: Engine
    user: str = "User"
    user_description: str = ""
    description: str = ""
    lines: list[Line] = field(default_factory=list)
    store: ChatStore | None = None
    chat: Chat | None = None
    order: Order = "mention"
    kv: Mode = "lines"
    reserve: int = 300
    rng: random.Random = field(default_factory=random.Random)
    prompts: dict[str, str] = field(default_factory=dict)
    """The last prompt each member was given (for `--explain` and the tests)."""
    meta: dict[str, Any] = field(default_factory=dict)
    """An unsaved scene's metadata (lore timers); a saved one keeps it in the chat."""
    cache_dir: Path | None = None
    """Where the speakers' KV lines are saved on `close` (None: they are not)."""
    held_lines: int = MAX_HELD_LINES
    """KV lines kept in memory besides the live cache (see `app.group.kvlines`)."""

    def __post_init__(self) -> None:
        self._silent: tuple[int, str] | None = None
        """(lines then, member id) of the last turn that came out empty."""
        self.count_tokens = lru_cache(maxsize=4096)(self.engine.count_tokens)
        self.speakers = SpeakerLines(
            self.engine,
            self.kv,
            limit=self.held_lines,
            path_for=self.line_path,
            adapters_for=self.adapters_of,
        )

    def member(self, ref: str) -> Member:
        return pick(self.cast, ref)

    def adapters_of(self, speaker: str) -> tuple[Adapter, ...]:
        """The LoRA set `speaker` (a member id) speaks with (`give_adapters`)."""
        return next((m.adapters for m in self.cast if m.id == speaker), ())

    @property
    def chat_meta(self) -> dict[str, Any]:
        return self.chat.meta if self.chat is not None else self.meta

    def member_state(self, member: Member, lines: Sequence[Line] | None = None) -> dict[str, Any]:
        """`member`'s own state (`state`, `trust` metadata) at the end of `lines` (default: the
        scene's): its starting values overlaid with its latest structured line."""
        saved = self.chat_meta.get(GROUP_META, {})
        start = saved.get("state") if isinstance(saved, dict) else None
        return state.member_meta(start, member, self.lines if lines is None else lines)

    def plan(self, member: Member, lines: Sequence[Line] | None = None) -> NpcPlan:
        """`member`'s prompt for its next line after `lines` (default: the whole scene), with
        the lore it drew on: its own sheet, book and state only."""
        lines = self.lines if lines is None else lines
        own = self.member_state(member, lines)
        return npc_plan(
            member,
            self.cast,
            lines,
            user=self.user,
            user_description=self.user_description,
            description=self.description,
            state_meta=own,
            count=self.count_tokens,
            n_ctx=self.engine.n_ctx,
            reserve=self.reserve,
            turn=len(lines),
            timers=timers_for(self.chat_meta, len(lines)),
            asks=state.asks(member, own, self.user, lines),
        )

    def assembly(self, member: Member, lines: Sequence[Line] | None = None) -> Assembly:
        return self.plan(member, lines).assembly

    def prompt_for(self, member: Member, lines: Sequence[Line] | None = None) -> str:
        """The text `member` would be given for its next line."""
        return render(self.fmt, self.assembly(member, lines))

    @property
    def stops(self) -> list[str]:
        return scene_stops(self.fmt, self.cast, self.user)

    def next_speaker(self) -> Member:
        """Who answers the last line, by the scene's turn order. A member whose turn came out
        empty (nothing kept) still had its turn: the order goes on after it, or "let them
        talk" would ask the same silent member again and again."""
        last = self.lines[-1] if self.lines else None
        speaker = last.speaker if last else None
        if self._silent is not None and self._silent[0] == len(self.lines):
            speaker = self._silent[1]
        return next_speaker(
            self.cast,
            self.order,
            last_text=last.text if last else "",
            last_speaker=speaker,
            rng=self.rng,
        )

    # -- the store ------------------------------------------------------------------------

    def saved_chat(self) -> Chat | None:
        """The stored chat, created at the scene's first line (None without a store)."""
        if self.store is None or self.chat is not None:
            return self.chat
        names = ", ".join(m.name for m in self.cast)
        self.chat = self.store.create_chat(
            scene_id(self.cast),
            title=f"Scene with {names}",
            user_name=self.user,
            meta={
                **self.meta,
                GROUP_META: {"cast": [m.id for m in self.cast], "scene": self.description},
                "user_description": self.user_description,
            },
        )
        return self.chat

    def line_path(self, speaker: str) -> Path | None:
        """Where `speaker`'s KV line is saved (None: an unsaved scene, or no cache directory)."""
        if self.cache_dir is None or self.chat is None:
            return None
        return self.cache_dir / f"scene-{self.chat.id}-{speaker}.lwkv"

    def _keep(self, line: Line, parent: int | None | Any = None, **how: Any) -> Line:
        meta = {**line.meta, "speaker": line.speaker} if line.speaker else {}
        chat = self.saved_chat()
        if self.store is None or chat is None:
            return Line(line.speaker, line.name, line.text, line.id, meta)
        role = "assistant" if line.speaker else "user"
        kwargs: dict[str, Any] = {"name": line.name, "meta": meta or None, **how}
        if parent is not None:
            kwargs["parent_id"] = parent
        stored = self.store.add_message(chat.id, role, line.text, **kwargs)
        return Line(line.speaker, line.name, line.text, stored.id, meta)

    def reload(self) -> None:
        """Re-read the active path (after a swipe, edit or branch in the store)."""
        if self.store is None or self.chat is None:
            return
        by_name = {m.name: m.id for m in self.cast}
        lines: list[Line] = []
        for message in self.store.active_path(self.chat.id):
            if message.role == "user":
                lines.append(Line("", message.name or self.user, message.content, message.id))
            elif message.role == "assistant" and message.content:
                speaker = message.meta.get("speaker") or by_name.get(message.name or "", "")
                name = message.name or speaker
                lines.append(
                    Line(str(speaker), name, message.content, message.id, dict(message.meta))
                )
        self.lines = lines
        self.chat = self.store.get_chat(self.chat.id)

    # -- the chat tree: swipes, edit, delete, branch, as in a one-to-one chat (`session_tree`) --

    @property
    def ids(self) -> list[int]:
        """The store ids of the scene's lines (a saved scene's lines all have one)."""
        return [line.id for line in self.lines if line.id is not None]

    def _tree(self) -> GroupScene:
        """The scene, for a tree action; an empty one is refused before a chat is stored."""
        if not self.lines:
            raise LoreweaverError("the scene is empty")
        return self

    def swipe_position(self, index: int = -1) -> tuple[int, int]:
        return session_tree.swipe_position(self._tree(), index)

    def swipe(self, step: int, index: int = -1) -> tuple[int, int]:
        return session_tree.swipe(self._tree(), step, index)

    def edit(self, index: int, text: str) -> None:
        session_tree.edit(self._tree(), index, text)

    def delete(self, index: int) -> None:
        session_tree.delete(self._tree(), index)

    def branch(self, index: int) -> Chat:
        return session_tree.branch_path(self._tree(), index)

    def close(self) -> None:
        """End the scene: save each speaker's KV line so reopening it reads no prompt whole
        again (a failed save only costs a re-read later). The engine stays open."""
        self.speakers.save()

    def greet(self) -> list[Line]:
        """Open a new scene with the cast's group greetings (SillyTavern's
        `group_only_greetings`; the first shown, the others as its swipes). A member without
        any says nothing: its first message was written for a one-to-one chat."""
        if self.lines:
            return []
        said: list[Line] = []
        for member in self.cast:
            texts = [
                substitute(text.strip(), char=member.name, user=self.user)
                for text in member.sheet.group_only_greetings
            ]
            texts = [text for text in texts if text]
            if not texts:
                continue
            first = self._keep(Line(member.id, member.name, texts[0]))
            if self.store is not None and first.id is not None:
                parent = self.store.get_message(first.id).parent_id
                for text in texts[1:]:
                    self._keep(Line(member.id, member.name, text), parent_id=parent)
                self.store.select(first.id)
            self.lines.append(first)
            said.append(first)
        return said

    # -- turns ----------------------------------------------------------------------------

    def say(self, text: str) -> Line:
        """The player's line, stored before any NPC answers."""
        text = text.strip()
        if not text:
            raise LoreweaverError("an empty line says nothing")
        line = self._keep(Line("", self.user, text))
        self.lines.append(line)
        return line

    def reply(self, member: Member | None, sampling: Sampling) -> SceneReply:
        """Start `member`'s line (None: by the turn order) on its own KV cache line."""
        speaker = member or self.next_speaker()
        self.reserve = sampling.max_tokens
        plan = self.plan(speaker)
        prompt = render(self.fmt, plan.assembly)
        self.prompts[speaker.id] = prompt
        self._keep_lore_timers(plan.lore)
        self.speakers.switch(speaker.id, prompt)
        own = self.member_state(speaker)
        generation = state.start(self.engine, speaker, prompt, sampling, self.stops, own, self.user)
        return SceneReply(self, speaker, generation)

    def _keep_lore_timers(self, lore: LoreResult | None) -> None:
        """Keep the lore timers this turn leaves (sticky, cooldown count on in scene turns:
        one per line); a retaken turn starts again from the timers before it."""
        if lore is None:
            return
        turn = len(self.lines)
        update = timers_meta(timers_for(self.chat_meta, turn), lore.timers, turn)
        if self.store is not None and self.chat is not None:
            self.chat = self.store.update_chat(self.chat.id, meta=update)
        else:
            self.meta.update(update)

    def talk(self, turns: int, sampling: Sampling) -> Iterator[SceneReply]:
        """Let them talk: `turns` NPC lines in a row, each speaker by the turn order; the caller
        reads each reply and calls `finish()` before taking the next."""
        for _ in range(turns):
            yield self.reply(None, sampling)

    def regenerate(self, sampling: Sampling) -> SceneReply:
        """Another take of the last NPC line by the same speaker, kept as a swipe beside it;
        when the scene ends on the player's line (its answer was stopped empty or deleted), the
        answer by the turn order, as in a one-to-one chat."""
        if not self.lines:
            raise LoreweaverError("nothing to regenerate: the scene is empty")
        last = self.lines[-1]
        if not last.speaker:
            return self.reply(None, sampling)
        parent = None
        if self.store is not None and last.id is not None:
            parent = self.store.get_message(last.id).parent_id
            if parent is None:
                raise LoreweaverError(
                    "nothing to regenerate yet: a greeting's swipes are its other group greetings"
                )
        self.lines.pop()
        try:
            reply = self.reply(self.member(last.speaker), sampling)
        except BaseException:
            self.lines.append(last)
            raise
        reply.parent = parent
        return reply


class SceneReply:
    """An NPC's line streaming in: iterate for text (or read `frames`), then `finish()` to keep
    it."""

    def __init__(self, scene: GroupScene, member: Member, generation: Generation) -> None:
        self.scene = scene
        self.member = member
        self.generation = generation
        self.parent: int | None = None
        """Where a regenerated line goes (beside the old one); None: after the last line."""
        self._shown: list[str] = []
        self._pieces: Iterator[str] | None = None
        self.line: Line | None = None

    def __iter__(self) -> Iterator[str]:
        return self._read(lambda: iter(self.generation))

    def frames(self, period: float) -> Iterator[str]:
        """The text in batches, one per `period` at most (what a screen draws)."""
        return self._read(lambda: self.generation.batches(period))

    def prompt_progress(self, period: float) -> Iterator[tuple[int, int]]:
        """`(evaluated, total)` prompt tokens while the prompt is read."""
        return self.generation.prompt_progress(period)

    def _read(self, source: Callable[[], Iterator[str]]) -> Iterator[str]:
        if self._pieces is None:
            self._pieces = without_speaker(source(), self.member.name)
        for piece in self._pieces:
            self._shown.append(piece)
            yield piece

    def cancel(self) -> None:
        self.generation.cancel()

    @property
    def text(self) -> str:
        return "".join(self._shown)

    @property
    def stats(self) -> GenerationStats:
        return self.generation.stats

    def finish(self) -> Line:
        """Keep the line (cut where it would start someone else's), stored in the scene's tree
        with a structured line's annotations and the state after it."""
        if self.line is not None:
            return self.line
        for _ in self:
            pass
        text = self.text
        cut = foreign_label(text, self.member, self.scene.cast, self.scene.user)
        text = (text[:cut] if cut is not None else text).strip()
        line = Line(self.member.id, self.member.name, text, meta=reply_annotations(self.generation))
        if text:
            line = self.scene._keep(line, self.parent)
            self.scene.lines.append(line)
        else:
            self.scene._silent = (len(self.scene.lines), self.member.id)
        self.line = line
        return line
