"""A validated script laid out as a flat program of steps, and the checks that need the cast.

Choice bodies are laid out after their fork and jump forward to the beats after the block (the
rejoin) or to a label; every jump must go forward, so every branch ends and the tree is finite.
Its worst-case size (every condition true) is bounded before any model loads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from app.memory.chat_state import TRUST_PREFIX
from app.scenes.script import ANY, Beat, Rules, SceneScript

MAX_NODES = 3000
"""Stored lines over all branches (alternatives count), worst case."""

_CLAUSE = re.compile(r"^(not\s+)?([A-Za-z_]\w*(?:\.\w+)?)\s*(?:(==|!=|>=|<=|>|<)\s*(\S.*))?$")


class ScriptError(ValueError):
    """A problem at a location of the script (`beats[3].choices[1]`)."""

    def __init__(self, where: str, text: str) -> None:
        super().__init__(f"{where}: {text}")


@dataclass(frozen=True)
class Clause:
    name: str
    op: str
    value: Any

    def holds(self, state: dict[str, Any]) -> bool:
        have = state[self.name]
        if self.op == "==":
            return bool(have == self.value)
        if self.op == "!=":
            return bool(have != self.value)
        if isinstance(have, bool) or not isinstance(have, int | float):
            return False
        return {">": have > self.value, "<": have < self.value, ">=": have >= self.value,
                "<=": have <= self.value}[self.op]  # fmt: skip


Condition = tuple[Clause, ...]


def holds(condition: Condition | None, state: dict[str, Any]) -> bool:
    return condition is None or all(clause.holds(state) for clause in condition)


@dataclass(frozen=True)
class Option:
    where: str
    text: str
    when: Condition | None
    start: int


@dataclass(frozen=True)
class Step:
    where: str
    kind: str
    """player, say, npc, talk, set, jump, end, fork."""
    when: Condition | None = None
    text: str = ""
    speaker: str | None = None
    """A cast id; None: the turn order picks."""
    turns: int = 1
    alternatives: int = 1
    rules: Rules = Rules()
    values: dict[str, Any] = field(default_factory=dict)
    target: int = -1
    options: tuple[Option, ...] = ()


@dataclass
class Program:
    steps: list[Step]
    state: dict[str, Any]
    """Every variable a condition may read, with its starting value."""


def _literal(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def _same_kind(a: Any, b: Any) -> bool:
    number = (int, float)
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool)
    return (isinstance(a, number) and isinstance(b, number)) or type(a) is type(b)


def parse_condition(text: str, state: dict[str, Any], where: str) -> Condition:
    """`trust >= 3 and not haggled and brenna.sword_sold == false`: clauses joined by `and`,
    each naming a declared variable (a bare name or `not name` tests true/false)."""
    clauses: list[Clause] = []
    for part in re.split(r"\s+and\s+", text.strip()):
        found = _CLAUSE.match(part.strip())
        if found is None:
            raise ScriptError(where, f"cannot read condition {part!r} (use `name OP value`)")
        negated, name, op, raw = found.groups()
        if name not in state:
            known = ", ".join(sorted(state)) or "none declared"
            raise ScriptError(where, f"unknown state variable {name!r} (known: {known})")
        if op is None:
            if not isinstance(state[name], bool):
                raise ScriptError(where, f"{name!r} is not true/false: compare it with a value")
            clauses.append(Clause(name, "==", not negated))
            continue
        if negated:
            raise ScriptError(where, f"write `{name} != …` rather than `not {name} {op} …`")
        value = _literal(raw)
        if not _same_kind(value, state[name]):
            raise ScriptError(where, f"{name!r} holds {state[name]!r}; cannot compare with {raw}")
        if op not in ("==", "!=") and isinstance(value, bool | str):
            raise ScriptError(where, f"{op} compares numbers; {name!r} is not one")
        clauses.append(Clause(name, op, value))
    return tuple(clauses)


class _Layout:
    def __init__(self, script: SceneScript, cast: list[str], state: dict[str, Any]) -> None:
        self.script = script
        self.cast = cast
        self.state = state
        self.steps: list[Step] = []
        self.labels: dict[str, tuple[int, str]] = {}
        self.jumps: list[tuple[int, str, str]] = []
        """(step index, label, where) to resolve once every label is placed."""

    def when(self, text: str | None, where: str) -> Condition | None:
        return None if text is None else parse_condition(text, self.state, f"{where}.when")

    def member(self, ref: str, where: str) -> str:
        if ref not in self.cast:
            raise ScriptError(where, f"{ref!r} is not in the cast ({', '.join(self.cast)})")
        return ref

    def beats(self, beats: list[Beat], prefix: str) -> None:
        for number, beat in enumerate(beats):
            self.beat(beat, f"{prefix}[{number}]")

    def beat(self, beat: Beat, where: str) -> None:
        if beat.label is not None:
            if beat.label in self.labels:
                raise ScriptError(f"{where}.label", f"{beat.label!r} is already the label of "
                                  f"{self.labels[beat.label][1]}")  # fmt: skip
            self.labels[beat.label] = (len(self.steps), where)
        when = self.when(beat.when, where)
        kind = beat.kind
        if kind in ("player", "say"):
            speaker = self.member(beat.speaker, f"{where}.speaker") if beat.speaker else None
            text = beat.player if beat.player is not None else beat.say
            self.steps.append(Step(where, kind, when, text=text or "", speaker=speaker))
        elif kind in ("npc", "talk"):
            speaker = None
            if beat.npc is not None and beat.npc != ANY:
                speaker = self.member(beat.npc, f"{where}.npc")
            self.steps.append(
                Step(where, "npc", when, speaker=speaker, turns=beat.talk or 1,
                     alternatives=beat.alternatives or self.script.alternatives,
                     rules=beat.rules or self.script.rules)
            )  # fmt: skip
        elif kind == "set":
            self.steps.append(Step(where, "set", when, values=self.values(beat, where)))
        elif kind == "goto":
            self.jumps.append((len(self.steps), beat.goto or "", f"{where}.goto"))
            self.steps.append(Step(where, "jump", when))
        elif kind == "end":
            self.steps.append(Step(where, "end", when))
        else:
            self.fork(beat, where, when)

    def values(self, beat: Beat, where: str) -> dict[str, Any]:
        for name, value in (beat.set or {}).items():
            if name not in self.state:
                raise ScriptError(f"{where}.set", f"unknown state variable {name!r}")
            if not _same_kind(value, self.state[name]):
                wrong = f"holds {self.state[name]!r}; cannot set it to {value!r}"
                raise ScriptError(f"{where}.set.{name}", wrong)
        return dict(beat.set or {})

    def fork(self, beat: Beat, where: str, when: Condition | None) -> None:
        at = len(self.steps)
        self.steps.append(Step(where, "fork", when))
        options: list[Option] = []
        rejoins: list[int] = []
        for number, choice in enumerate(beat.choices or []):
            place = f"{where}.choices[{number}]"
            options.append(
                Option(place, choice.text, self.when(choice.when, place), len(self.steps))
            )
            self.beats(choice.beats, f"{place}.beats")
            if choice.end:
                self.steps.append(Step(place, "end"))
            elif choice.goto is not None:
                self.jumps.append((len(self.steps), choice.goto, f"{place}.goto"))
                self.steps.append(Step(place, "jump"))
            else:
                rejoins.append(len(self.steps))
                self.steps.append(Step(place, "jump"))
        after = len(self.steps)
        for index in rejoins:
            self.steps[index] = Step(self.steps[index].where, "jump", target=after)
        self.steps[at] = Step(where, "fork", when, options=tuple(options))

    def resolve(self) -> None:
        for index, label, where in self.jumps:
            if label not in self.labels:
                raise ScriptError(where, f"no beat is labelled {label!r}")
            target, place = self.labels[label]
            if target <= index:
                raise ScriptError(where, f"{label!r} ({place}) comes before this jump: the scene "
                                  "would loop forever (jumps go forward only)")  # fmt: skip
            step = self.steps[index]
            self.steps[index] = Step(step.where, "jump", step.when, target=target)


def size(steps: list[Step]) -> int:
    """Stored lines over all branches if every condition held (jumps go forward: one pass
    from the end)."""
    below = [0] * (len(steps) + 1)
    for index in range(len(steps) - 1, -1, -1):
        step = steps[index]
        after = below[index + 1]
        if step.kind == "end":
            below[index] = 0 if step.when is None else after
        elif step.kind == "jump":
            below[index] = max(below[step.target], after if step.when is not None else 0)
        elif step.kind == "fork":
            below[index] = sum(1 + below[o.start] for o in step.options) + after
        elif step.kind == "npc":
            below[index] = step.turns * step.alternatives + after
        elif step.kind in ("player", "say"):
            below[index] = 1 + after
        else:
            below[index] = after
        below[index] = min(below[index], MAX_NODES + 1)
    return below[0]


def member_state(cast: dict[str, list[tuple[str, Any]]]) -> dict[str, Any]:
    """`member.variable` → default, for the cast's sheet state (trust is the sheets' own)."""
    return {
        f"{member}.{key}": value
        for member, entries in cast.items()
        for key, value in entries
        if not key.startswith(TRUST_PREFIX)
    }


def lay_out(script: SceneScript, cast_state: dict[str, list[tuple[str, Any]]]) -> Program:
    """The program of `script`, or a ScriptError naming where it is wrong."""
    state = {**member_state(cast_state), **script.state}
    layout = _Layout(script, list(script.cast), state)
    layout.beats(script.beats, "beats")
    layout.resolve()
    total = size(layout.steps)
    if total > MAX_NODES:
        raise ScriptError("beats", f"the scene would store more than {MAX_NODES} lines over all "
                          "its branches: fewer choices, turns or alternatives")  # fmt: skip
    return Program(layout.steps, state)
