"""Barks: short in-character one-liners for a game situation (greet, alert, injured, …).

Each bark comes from its own seed with one fixed prompt per character and trigger, so any
single bark is regenerated exactly from what is recorded with it (seed, trigger, length limit,
sampling, model and template), and the same base seed gives the same set. A grammar keeps each
bark one line of at most `max_chars` characters; exact and near duplicates are dropped
(`dedupe`), and more seeds are tried until the count is met or the tries run out.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.engine.adapters import Adapter
from app.engine.base import Engine, Sampling
from app.engine.remote.parallel import Request, generate_all
from app.errors import LoreweaverError
from app.memory.assembly import persona_text
from app.npc.dedupe import DistinctLines
from app.prompts.formats import PromptFormat
from app.prompts.messages import Message
from app.sheets.macros import substitute
from app.sheets.sheet import Sheet

TRIGGERS = {
    "greet": "someone approaches and {char} greets them",
    "farewell": "someone leaves and {char} says goodbye",
    "alert": "{char} notices an intruder or danger nearby",
    "idle": "{char} is alone and mutters to pass the time",
    "injured": "{char} has just been wounded",
    "victory": "{char} has just won a fight",
}
"""The built-in triggers; any other text describes the situation itself."""
MAX_COUNT = 200
MAX_PARALLEL = 64
TRIES_PER_BARK = 5
SEED_RANGE = 2**31
Status = Literal["new", "kept"]


class Bark(BaseModel):
    """One bark and everything needed to make it again."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=1000)
    trigger: str = Field(min_length=1, max_length=200)
    seed: int = Field(ge=0, lt=SEED_RANGE)
    max_chars: int = Field(ge=8, le=1000)
    temperature: float = Field(ge=0, le=5)
    top_p: float = Field(ge=0, le=1)
    top_k: int = Field(ge=0)
    min_p: float = Field(ge=0, le=1)
    repeat_penalty: float = Field(ge=0, le=5)
    model: str = ""
    template: str = ""
    status: Status = "new"
    """`new` until a person keeps it; kept barks survive a regeneration of the set."""


def check_trigger(trigger: str) -> str:
    """A built-in trigger, or one line of text describing the situation."""
    text = " ".join(trigger.split())
    if not text or len(text) > 200:
        raise LoreweaverError("--trigger: give a trigger name or a situation of 1–200 characters")
    return text


def bark_prompt(fmt: PromptFormat, sheet: Sheet, trigger: str, max_chars: int, *, user: str) -> str:
    """The one prompt every bark of this character and trigger is generated from."""
    situation = TRIGGERS.get(trigger, trigger)
    ask = (
        f"Situation: {situation}.\nWrite one short line {{char}} says out loud in this "
        f"situation, in {{char}}'s own voice, under {max_chars} characters. Only the spoken "
        "words: no name, no quotes, no narration."
    )
    messages = [
        Message("system", persona_text(sheet, user=user)),
        Message("user", substitute(ask, char=sheet.name, user=user)),
    ]
    return fmt.render(messages)


def line_grammar(max_chars: int) -> str:
    """One line of 1…`max_chars` characters: the model stops when it is said."""
    return f'root ::= [^\\n\\r\\t"*]{{1,{max_chars}}}'


def tidy(text: str, name: str, max_chars: int) -> str:
    """The spoken words: no speaker label or quotes, and a line cut at the limit ends at its
    last whole sentence (or word)."""
    line = text.strip()
    for label in (f"{name}:", f"{name.split()[0]}:"):
        if line.casefold().startswith(label.casefold()):
            line = line[len(label) :].strip()
    line = line.strip("'\u201c\u201d ").strip()
    if len(text.strip()) >= max_chars:
        ends = [m.end() for m in re.finditer(r"[.!?…](?=\s|$)", line)]
        line = line[: ends[-1]] if ends else line.rsplit(" ", 1)[0]
    return line.strip()


@dataclasses.dataclass(frozen=True)
class BarkJob:
    """What a set of barks is made from."""

    sheet: Sheet
    fmt: PromptFormat
    trigger: str
    max_chars: int
    sampling: Sampling
    model: str
    user: str = "User"
    adapters: tuple[Adapter, ...] = ()
    """The LoRA set the character speaks with on this model (`app.speaker_adapters`)."""

    def request(self, seed: int) -> Request:
        """What the bark of `seed` is generated from."""
        return Request(
            bark_prompt(self.fmt, self.sheet, self.trigger, self.max_chars, user=self.user),
            dataclasses.replace(self.sampling, seed=seed, max_tokens=4 * self.max_chars),
            grammar=line_grammar(self.max_chars),
        )

    def make(self, engine: Engine, seed: int) -> Bark | None:
        """The bark of `seed` (None when the model said nothing usable)."""
        request = self.request(seed)
        engine.use_adapters(self.adapters)
        fresh_cache(engine)
        generation = engine.generate(request.prompt, request.sampling, grammar=request.grammar)
        return self.bark(seed, "".join(generation))

    def bark(self, seed: int, said: str) -> Bark | None:
        """The bark the model `said` from `seed` (None when nothing in it is usable)."""
        text = tidy(said, self.sheet.name, self.max_chars)
        if not text:
            return None
        sampling = self.sampling
        return Bark(
            text=text,
            trigger=self.trigger,
            seed=seed,
            max_chars=self.max_chars,
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            top_k=sampling.top_k,
            min_p=sampling.min_p,
            repeat_penalty=sampling.repeat_penalty,
            model=self.model,
            template=self.fmt.id,
        )


def fresh_cache(engine: Engine) -> None:
    """Start from an empty KV cache, so the bark prompt is always evaluated the same way.

    A seed fixes the sampling, not the logits: a prompt evaluated in other batches (a prefix
    cached from another prompt, or only its last token evaluated again after the previous
    bark) rounds differently, and that is enough to change a sampled line. From an empty cache
    each bark sees the same prompt state in any process, so any one is made again alone.
    """
    reset = getattr(engine, "reset_cache", None)
    if reset is not None:
        reset()


def generate_barks(
    engine: Engine,
    job: BarkJob,
    count: int,
    seed: int,
    *,
    keep: Sequence[Bark] = (),
    progress: Callable[[int, int], None] | None = None,
    parallel: int = 1,
) -> list[Bark]:
    """`count` distinct barks from seeds `seed`, `seed + 1`, …, none a near duplicate of
    another or of `keep`. Fewer after `TRIES_PER_BARK × count` tries is an error.

    `parallel` > 1 asks a server for that many seeds at once (`generate_all`) and takes the
    results in seed order, so the set is the one made one at a time (the server's cache is
    its own: `fresh_cache` is for an engine that keeps the cache in this process)."""
    if not 1 <= count <= MAX_COUNT:
        raise LoreweaverError(f"--count: give 1–{MAX_COUNT}, got {count}")
    if not 1 <= parallel <= MAX_PARALLEL:
        raise LoreweaverError(f"--parallel: give 1–{MAX_PARALLEL}, got {parallel}")
    seen = DistinctLines()
    for old in keep:
        seen.add(old.text)
    made: list[Bark] = []
    tries = TRIES_PER_BARK * count + 5
    for start in range(0, tries, parallel):
        seeds = [(seed + n) % SEED_RANGE for n in range(start, min(start + parallel, tries))]
        for bark in _made(engine, job, seeds, parallel):
            if bark is not None and seen.add(bark.text):
                made.append(bark)
                if progress is not None:
                    progress(len(made), count)
                if len(made) == count:
                    return made
    raise LoreweaverError(
        f"only {len(made)} distinct barks for {job.sheet.name!r} ({job.trigger}) after "
        f"{tries} tries: ask for fewer, allow more characters, or raise the temperature"
    )


def _made(engine: Engine, job: BarkJob, seeds: list[int], parallel: int) -> list[Bark | None]:
    """The barks of `seeds`, in their order: one at a time, or side by side on a server."""
    if parallel == 1:
        return [job.make(engine, s) for s in seeds]
    engine.use_adapters(job.adapters)  # a server refuses any: one clear line
    fresh_cache(engine)
    results = generate_all(engine, [job.request(s) for s in seeds], parallel)
    failed = next((r.error for r in results if r.error is not None), None)
    if failed is not None:
        raise LoreweaverError(failed)
    return [job.bark(s, r.text) for s, r in zip(seeds, results, strict=True)]


def remake(engine: Engine, job: BarkJob, bark: Bark) -> Bark | None:
    """`bark` made again from its own seed and settings (the same text, on the same model)."""
    sampling = dataclasses.replace(
        job.sampling,
        temperature=bark.temperature,
        top_p=bark.top_p,
        top_k=bark.top_k,
        min_p=bark.min_p,
        repeat_penalty=bark.repeat_penalty,
    )
    again = dataclasses.replace(
        job, trigger=bark.trigger, max_chars=bark.max_chars, sampling=sampling
    )
    return again.make(engine, bark.seed)


def replace_one(engine: Engine, job: BarkJob, barks: list[Bark], index: int) -> list[Bark]:
    """The set with bark `index` replaced by a new one, distinct from the others, made from
    the next seeds after the highest used."""
    others = [b for i, b in enumerate(barks) if i != index]
    start = max((b.seed for b in barks), default=0) + 1
    fresh = generate_barks(
        engine, dataclasses.replace(job, trigger=barks[index].trigger), 1, start, keep=others
    )
    return [*barks[:index], *fresh, *barks[index + 1 :]]
