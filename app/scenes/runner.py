"""Running a scene script into a chat tree, headless and deterministic.

Every branch is a cursor walking the program. In each round, every cursor waiting on an NPC
line asks for its missing alternatives (and retries) at once; they are generated side by side
(at most `parallel`, `generate_all`) and then applied cursor by cursor in a fixed order, so
the stored tree does not depend on which request finished first. Every node's seed derives from
the scene's seed and the node's place (branch, script position, turn, alternative, attempt),
never from run order: a run with `parallel` 4 stores what a run with 1 stores, and a resumed
run keeps every complete node (found by parent and line key) and generates only the rest.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from app.engine.adapters import Adapter
from app.engine.base import Engine, Sampling
from app.engine.remote.parallel import Request, Result, generate_all
from app.errors import LoreweaverError
from app.group import GroupScene, Line, Member, next_speaker
from app.group.prompt import foreign_label
from app.group.scene import GROUP_META
from app.memory.store import Chat, StoredMessage
from app.npc.structured import ReplyShape
from app.reply import without_speaker
from app.scenes.constraints import best, broken, token_cap
from app.scenes.prepare import Prepared
from app.scenes.program import Step, holds
from app.scenes.stored import Nodes
from app.scenes.structured import Shapes, state_after


def derive(seed: int, *parts: object) -> int:
    """A 31-bit seed from the scene's seed and a node's place."""
    text = "|".join([str(seed), *map(str, parts)])
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) & 0x7FFFFFFF


@dataclass
class Slot:
    """One alternative of an NPC line: its attempts until one keeps the rules."""

    alt: int
    attempts: list[str] = field(default_factory=list)
    text: str | None = None
    flags: list[str] = field(default_factory=list)
    kept: int = 0
    """The attempt stored (its seed is the one recorded)."""
    notes: list[dict[str, Any]] = field(default_factory=list)
    """Each attempt's structured-reply annotations (empty for plain text)."""
    stored: StoredMessage | None = None


@dataclass
class Task:
    key: str
    member: Member
    prompt: str
    step: Step
    slots: list[Slot]
    own: dict[str, Any]
    """The member's sheet state on this branch."""
    shape: ReplyShape | None

    def open(self) -> list[Slot]:
        return [slot for slot in self.slots if slot.text is None]


@dataclass
class Cursor:
    at: int
    parent: int | None
    lines: list[Line]
    state: dict[str, Any]
    branch: str
    turn: int = 0
    task: Task | None = None


class SceneRunner:
    def __init__(
        self,
        prepared: Prepared,
        engine: Engine,
        nodes: Nodes,
        *,
        parallel: int = 1,
        on_line: Callable[[], None] = lambda: None,
    ) -> None:
        script = prepared.script
        self.prepared = prepared
        self.script = script
        self.steps = prepared.program.steps
        self.engine = engine
        self.nodes = nodes
        self.parallel = parallel
        self.on_line = on_line
        self.flagged = 0
        self.scene = GroupScene(
            prepared.cast, prepared.fmt, engine, user=script.persona.name,
            user_description=script.persona.description, description=script.setting,
            order=script.order,
        )  # fmt: skip
        self.scene.reserve = script.sampling.max_tokens
        self.shapes = Shapes(engine, script.persona.name)
        self.generated = {"model": prepared.info.name, "template": prepared.fmt.id,
                          "sampling": script.sampling.model_dump()}  # fmt: skip

    # -- walking ----------------------------------------------------------------------------

    def run(self) -> None:
        cursors = self.advance(Cursor(0, None, [], dict(self.prepared.program.state), "0"))
        while cursors:
            jobs = [(cursor, slot) for cursor in cursors for slot in self._task(cursor).open()]
            requests = [self.request(cursor, slot) for cursor, slot in jobs]
            voices = [self._task(cursor).member.adapters for cursor, _ in jobs]
            results = self.generate(requests, voices)
            for (cursor, slot), result in zip(jobs, results, strict=True):
                if result.error is not None:
                    raise LoreweaverError(
                        f"{self.prepared.path}: {self._task(cursor).key}: {result.error} "
                        "(what is stored is kept: run again with --resume)"
                    )
                self.record(self._task(cursor), slot, result.text)
            following: list[Cursor] = []
            for cursor in cursors:
                if self._task(cursor).open():
                    following.append(cursor)
                else:
                    self.finish(cursor)
                    following += self.advance(cursor)
            cursors = following

    def generate(self, requests: list[Request], voices: list[tuple[Adapter, ...]]) -> list[Result]:
        """The requests' results in order, each read whole: llama.cpp's numbers depend on how
        a prompt was split into batches, so a line read after a cached prefix could differ
        from the same line read from scratch, and a line's text would depend on the line
        generated before it (run order, resume). The local engine forgets its cache before
        each line, one at a time, under the speaker's adapters (`voices`); a server is asked
        to evaluate every prompt whole (`reset_cache` turns its prompt cache off) and takes up
        to `parallel` at once."""
        reset = getattr(self.engine, "reset_cache", None)
        if reset is None or not self.engine.keeps_state:
            refused = next((voice for voice in voices if voice), None)
            if refused is not None:  # a server cannot take them: one clear line
                self.engine.use_adapters(refused)
            if reset is not None:
                reset()
            return generate_all(self.engine, requests, self.parallel) if requests else []
        out: list[Result] = []
        for request, voice in zip(requests, voices, strict=True):
            self.engine.use_adapters(voice)
            reset()
            out += generate_all(self.engine, [request], 1)
        return out

    @staticmethod
    def _task(cursor: Cursor) -> Task:
        assert cursor.task is not None
        return cursor.task

    def advance(self, cursor: Cursor) -> list[Cursor]:
        """Walk `cursor` to its next NPC line; a fork returns one cursor per offered choice."""
        while cursor.at < len(self.steps):
            step = self.steps[cursor.at]
            if cursor.turn == 0 and not holds(step.when, cursor.state):
                cursor.at += 1
            elif step.kind == "set":
                cursor.state = {**cursor.state, **step.values}
                cursor.at += 1
            elif step.kind == "jump":
                cursor.at = step.target
            elif step.kind == "end":
                return []
            elif step.kind in ("player", "say"):
                self.fixed(cursor, step)
                cursor.at += 1
            elif step.kind == "fork":
                return self.fork(cursor, step)
            else:
                cursor.task = self.task(cursor, step)
                return [cursor]
        return []

    def fork(self, cursor: Cursor, step: Step) -> list[Cursor]:
        offered = [(n, o) for n, o in enumerate(step.options) if holds(o.when, cursor.state)]
        if not offered:  # nothing to choose here: the scene goes on after the block
            cursor.at += 1
            return self.advance(cursor)
        user = self.script.persona.name
        out: list[Cursor] = []
        for number, option in offered:
            said = self.nodes.keep(cursor.parent, option.where, "user", option.text, user, {})
            self.on_line()
            line = Line("", user, option.text, said.id)
            branch = Cursor(option.start, said.id, [*cursor.lines, line], dict(cursor.state),
                            f"{cursor.branch}.{number}")  # fmt: skip
            out += self.advance(branch)
        return out

    def fixed(self, cursor: Cursor, step: Step) -> None:
        if step.kind == "player":
            speaker, name, role = "", self.script.persona.name, "user"
            meta: dict[str, Any] = {}
        else:
            member = self.scene.member(step.speaker or "")
            speaker, name, role = member.id, member.name, "assistant"
            meta = {"speaker": member.id, "scene": {"fixed": True}}
        said = self.nodes.keep(cursor.parent, step.where, role, step.text, name, meta)
        self.on_line()
        cursor.parent = said.id
        cursor.lines = [*cursor.lines, Line(speaker, name, step.text, said.id)]

    # -- NPC lines --------------------------------------------------------------------------

    def task(self, cursor: Cursor, step: Step) -> Task:
        key = f"{step.where}#{cursor.turn}"
        have = self.nodes.get(cursor.parent, key)
        if step.speaker is not None:
            member = self.scene.member(step.speaker)
        elif have:
            member = self.scene.member(str(have[0].meta.get("speaker", "")))
        else:
            last = cursor.lines[-1] if cursor.lines else None
            member = next_speaker(
                self.scene.cast, self.script.order,
                last_text=last.text if last else "",
                last_speaker=last.speaker if last else None,
                rng=random.Random(derive(self.script.seed, cursor.branch, key, "speaker")),
            )  # fmt: skip
        slots = [Slot(alt) for alt in range(step.alternatives)]
        for slot, message in zip(slots, have, strict=False):
            slot.text, slot.stored = message.content, message
            self.on_line()
        own = {
            name.split(".", 1)[1]: value
            for name, value in cursor.state.items()
            if name.startswith(f"{member.id}.")
        }
        prompt = self.prompt(cursor, member, own)
        return Task(key, member, prompt, step, slots, own, self.shapes.of(member))

    def prompt(self, cursor: Cursor, member: Member, own: dict[str, Any]) -> str:
        """`member`'s prompt after this branch's lines, with its sheet state as the branch
        has set it (by `set`, or by its own structured replies)."""
        meta = {GROUP_META: {"state": {member.id: {"state": own}}}}
        self.scene.chat = Chat(0, "", None, self.script.persona.name, meta)
        return self.scene.prompt_for(member, cursor.lines)

    def request(self, cursor: Cursor, slot: Slot) -> Request:
        task = self._task(cursor)
        spec = self.script.sampling
        seed = derive(self.script.seed, cursor.branch, task.key, slot.alt, len(slot.attempts))
        sampling = Sampling(
            temperature=spec.temperature, top_p=spec.top_p, top_k=spec.top_k, min_p=spec.min_p,
            repeat_penalty=spec.repeat_penalty, seed=seed,
            max_tokens=token_cap(task.step.rules, spec.max_tokens),
        )  # fmt: skip
        if task.shape is not None:  # the grammar ends the reply: room for its longest form
            sampling = replace(sampling, max_tokens=max(sampling.max_tokens, task.shape.max_tokens))
            return Request(task.prompt, sampling, (), task.shape.grammar)
        return Request(task.prompt, sampling, tuple(self.scene.stops))

    def record(self, task: Task, slot: Slot, raw: str) -> None:
        member = task.member
        note: dict[str, Any] = {}
        if task.shape is not None:
            raw, note = self.shapes.read(member, raw, task.own)
        slot.notes.append(note)
        text = "".join(without_speaker(iter([raw]), member.name))
        cut = foreign_label(text, member, self.scene.cast, self.scene.user)
        text = (text[:cut] if cut is not None else text).strip()
        slot.attempts.append(text)
        rules = task.step.rules
        if not broken(text, rules):
            slot.text, slot.kept = text, len(slot.attempts) - 1
        elif len(slot.attempts) > self.script.retries:
            slot.text, slot.flags, slot.kept = best(slot.attempts, rules)
            self.flagged += 1

    def finish(self, cursor: Cursor) -> None:
        """Store the line's new alternatives (in order) and move the cursor past it."""
        task = self._task(cursor)
        for slot in task.slots:
            if slot.stored is not None:
                continue
            seed = derive(self.script.seed, cursor.branch, task.key, slot.alt, slot.kept)
            note = {"alt": slot.alt, "seed": seed, "attempts": len(slot.attempts),
                    "flags": slot.flags}  # fmt: skip
            meta = {"speaker": task.member.id, "scene": note, **self.generated,
                    **slot.notes[slot.kept]}  # fmt: skip
            slot.stored = self.nodes.add(
                cursor.parent, task.key, "assistant", slot.text or "", task.member.name, meta
            )
            self.on_line()
        first = task.slots[0].stored
        assert first is not None
        cursor.parent = first.id
        cursor.lines = [*cursor.lines, Line(task.member.id, task.member.name, first.content,
                                            first.id)]  # fmt: skip
        changed = {f"{task.member.id}.{k}": v for k, v in state_after(first.meta).items()}
        cursor.state = {**cursor.state, **{k: v for k, v in changed.items() if k in cursor.state}}
        cursor.task = None
        cursor.turn += 1
        if cursor.turn >= task.step.turns:
            cursor.at, cursor.turn = cursor.at + 1, 0
