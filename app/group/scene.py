"""A group scene: the cast, the player, the scene text and one history of labelled lines, kept
as one chat tree in the store (each NPC line's `name` and `meta["speaker"]` say who spoke)."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from app.engine.base import Engine, Generation, Sampling
from app.errors import LoreweaverError
from app.group.cast import Member
from app.group.kvlines import Mode, SpeakerLines
from app.group.order import Order, next_speaker, pick
from app.group.prompt import Line, foreign_label, npc_assembly, render, scene_stops
from app.memory.assembly import Assembly
from app.memory.store import Chat, ChatStore
from app.prompts.formats import PromptFormat
from app.reply import without_speaker

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

    def __post_init__(self) -> None:
        self.count_tokens = lru_cache(maxsize=4096)(self.engine.count_tokens)
        self.speakers = SpeakerLines(self.engine, self.kv)

    def member(self, ref: str) -> Member:
        return pick(self.cast, ref)

    def assembly(self, member: Member, lines: Sequence[Line] | None = None) -> Assembly:
        meta = self.chat.meta if self.chat is not None else {}
        states = meta.get(GROUP_META, {}).get("state", {})
        own_state = states.get(member.id, {}) if isinstance(states, dict) else {}
        return npc_assembly(
            member,
            self.cast,
            self.lines if lines is None else lines,
            user=self.user,
            user_description=self.user_description,
            description=self.description,
            state_meta=own_state if isinstance(own_state, dict) else {},
            count=self.count_tokens,
            n_ctx=self.engine.n_ctx,
            reserve=self.reserve,
        )

    def prompt_for(self, member: Member, lines: Sequence[Line] | None = None) -> str:
        """The text `member` would be given for its next line."""
        return render(self.fmt, self.assembly(member, lines))

    @property
    def stops(self) -> list[str]:
        return scene_stops(self.fmt, self.cast, self.user)

    def next_speaker(self) -> Member:
        """Who answers the last line, by the scene's turn order."""
        last = self.lines[-1] if self.lines else None
        return next_speaker(
            self.cast,
            self.order,
            last_text=last.text if last else "",
            last_speaker=last.speaker if last else None,
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
                GROUP_META: {"cast": [m.id for m in self.cast], "scene": self.description},
                "user_description": self.user_description,
            },
        )
        return self.chat

    def _keep(self, line: Line, parent: int | None | Any = None, **how: Any) -> Line:
        chat = self.saved_chat()
        if self.store is None or chat is None:
            return line
        role = "assistant" if line.speaker else "user"
        meta = {"speaker": line.speaker} if line.speaker else None
        kwargs: dict[str, Any] = {"name": line.name, "meta": meta, **how}
        if parent is not None:
            kwargs["parent_id"] = parent
        stored = self.store.add_message(chat.id, role, line.text, **kwargs)
        return Line(line.speaker, line.name, line.text, stored.id)

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
                lines.append(Line(str(speaker), name, message.content, message.id))
        self.lines = lines
        self.chat = self.store.get_chat(self.chat.id)

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
        prompt = self.prompt_for(speaker)
        self.prompts[speaker.id] = prompt
        self.speakers.switch(speaker.id)
        generation = self.engine.generate(prompt, sampling, stop=self.stops)
        return SceneReply(self, speaker, generation)

    def talk(self, turns: int, sampling: Sampling) -> Iterator[SceneReply]:
        """Let them talk: `turns` NPC lines in a row, each speaker by the turn order; the caller
        reads each reply and calls `finish()` before taking the next."""
        for _ in range(turns):
            yield self.reply(None, sampling)

    def regenerate(self, sampling: Sampling) -> SceneReply:
        """Another take of the last NPC line by the same speaker, kept as a swipe beside it."""
        if not self.lines or not self.lines[-1].speaker:
            raise LoreweaverError("nothing to regenerate: the last line is not an NPC's")
        last = self.lines.pop()
        speaker = self.member(last.speaker)
        reply = self.reply(speaker, sampling)
        if self.store is not None and last.id is not None:
            reply.parent = self.store.get_message(last.id).parent_id
        return reply


class SceneReply:
    """An NPC's line streaming in: iterate for text, then `finish()` to keep it."""

    def __init__(self, scene: GroupScene, member: Member, generation: Generation) -> None:
        self.scene = scene
        self.member = member
        self.generation = generation
        self.parent: int | None = None
        """Where a regenerated line goes (beside the old one); None: after the last line."""
        self._shown: list[str] = []
        self._pieces = without_speaker(iter(generation), member.name)
        self.line: Line | None = None

    def __iter__(self) -> Iterator[str]:
        for piece in self._pieces:
            self._shown.append(piece)
            yield piece

    def cancel(self) -> None:
        self.generation.cancel()

    @property
    def text(self) -> str:
        return "".join(self._shown)

    def finish(self) -> Line:
        """Keep the line (cut where it would start someone else's), stored in the scene's tree."""
        if self.line is not None:
            return self.line
        for _ in self:
            pass
        text = self.text
        cut = foreign_label(text, self.member, self.scene.cast, self.scene.user)
        text = (text[:cut] if cut is not None else text).strip()
        line = Line(self.member.id, self.member.name, text)
        if text:
            line = self.scene._keep(line, self.parent)
            self.scene.lines.append(line)
        self.line = line
        return line
