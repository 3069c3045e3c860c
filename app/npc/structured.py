"""Structured replies in a chat: the hooks the session calls, and the reply stream.

When the sheet opts in, a reply is generated under the grammar of its reply schema, so it is
always one valid JSON object. The stream shows only the `line` (the chat reads naturally);
once the reply is complete its emotion, action and state changes become the message's
annotations (`npc` metadata), and the state after it is what the next prompt states.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from app.engine.base import Engine, Generation, GenerationStats, Sampling
from app.memory.chat_state import TRUST_PREFIX, StateEntry, state_entries
from app.memory.history import PathHistory
from app.memory.store import StoredMessage
from app.npc.config import ActionDecl, StructuredConfig, declaration, fail
from app.npc.grammar import to_gbnf, verify
from app.npc.schema import max_bytes, reply_schema, trust_key
from app.npc.state import NPC_META, OVERLAY, apply_changes, path_meta
from app.sheets.macros import substitute
from app.sheets.sheet import Sheet

if TYPE_CHECKING:
    from app.session import ChatSession

LINE_START = re.compile(r'\{\s*"line"\s*:\s*"')


@dataclass
class ReplyShape:
    """One sheet's structured replies for one chat state: schema, grammar, token budget."""

    sheet: Sheet
    config: StructuredConfig
    actions: list[ActionDecl]
    entries: list[StateEntry]
    schema: dict[str, Any]
    grammar: str
    max_tokens: int


def reply_shape(sheet: Sheet, entries: list[StateEntry], engine: object) -> ReplyShape | None:
    """The sheet's reply shape (None when it does not opt in), checked against llama.cpp when
    `engine` can run grammars: one line naming the character and field when it is bad."""
    found = declaration(sheet)
    config = found.structured
    if config is None or not config.enabled:
        return None
    schema = reply_schema(sheet, config, found.actions, entries)
    grammar = to_gbnf(sheet, schema)
    bound = max_bytes(schema)
    if bound is None:  # every part has a limit by construction; a schema edit broke that
        raise fail(sheet, "structured", "the reply schema has no length limit")
    sample = {"line": "", "emotion": config.emotion_list[0]}
    invalid = [  # an emotion outside the set; a raw line break inside a string
        json.dumps({**sample, "emotion": "\u0001"}, ensure_ascii=False),
        json.dumps({**sample, "line": "\n"}).replace("\\n", "\n"),
    ]
    verify(engine, sheet, grammar, sample, invalid)
    return ReplyShape(sheet, config, found.actions, entries, schema, grammar, bound + 1)


def check_sheet(sheet: Sheet) -> None:
    """Refuse a bad structured-reply declaration (one line) without needing a model."""
    reply_shape(sheet, state_entries(sheet, {}, user="{{user}}"), None)


def session_shape(session: ChatSession) -> ReplyShape | None:
    """`reply_shape` for the session's sheet and its state at the end of the active path."""
    return reply_shape(session.sheet, session.state(), session.engine)


def state_meta(session: ChatSession) -> dict[str, Any]:
    """The chat metadata state reads for the session's active path (see `state.path_meta`)."""
    return path_meta(session.chat_meta, _newest_annotations(session))


def _structured_path(session: ChatSession) -> PathHistory | None:
    """The stored active path when its replies may carry annotations (None for an unsaved
    chat, or a sheet that never asked for structured replies: their state is the chat's)."""
    history = session.history
    structured = "structured" in (session.sheet.model_extra or {})
    return history if structured and isinstance(history, PathHistory) else None


def _newest_annotations(session: ChatSession) -> Iterator[dict[str, Any]]:
    """The active path's replies' metadata, newest first, read only as far as needed."""
    return (message.meta for message in _newest_replies(session))


def _newest_replies(session: ChatSession) -> Iterator[StoredMessage]:
    """The active path's stored replies, newest first (see `_structured_path`)."""
    history = _structured_path(session)
    if history is None:
        return
    roles = history.roles
    for i in range(len(roles) - 1, -1, -1):
        if roles[i] == "assistant":
            yield history.stored(i)


def keep_on_path(session: ChatSession, update: dict[str, Any]) -> bool:
    """Write a state `update` into the latest structured reply on the active path (whose state
    is the one in force there); False when the path has none (the chat keeps it)."""
    for message in _newest_replies(session):
        note = message.meta.get(NPC_META)
        if (
            session.store is not None
            and isinstance(note, dict)
            and isinstance(note.get(OVERLAY), dict)
        ):
            kept = {**note, OVERLAY: {**note[OVERLAY], **update}}
            session.store.update_reply(message.id, message.content, meta={NPC_META: kept})
            session.reload()
            return True
    return False


def annotation_at(session: ChatSession, index: int) -> str:
    """The annotation line of the reply at `index` of the active path ("" for a plain one)."""
    history = _structured_path(session)
    if history is None:
        return ""
    note = history.stored(index).meta.get(NPC_META)
    return annotation_text(note) if isinstance(note, dict) else ""


def last_annotation(session: ChatSession) -> dict[str, Any] | None:
    """The latest structured reply's annotations on the active path."""
    for meta in _newest_annotations(session):
        found = meta.get(NPC_META)
        if isinstance(found, dict):
            return found
    return None


def start(
    session: ChatSession, prompt: str, sampling: Sampling, stops: list[str], prefix: str
) -> Generation:
    """Start the reply: plain text, or under the sheet's grammar when it opts in."""
    shape = session_shape(session)
    if shape is not None and prefix:
        raise fail(session.sheet, "structured", "a structured reply cannot be continued")
    done = None if session.store is not None else session.meta.update
    return generate(
        session.engine, shape, prompt, sampling, stops, state_meta(session), session.user, done
    )


def generate(
    engine: Engine,
    shape: ReplyShape | None,
    prompt: str,
    sampling: Sampling,
    stops: list[str],
    chat_meta: dict[str, Any],
    user: str,
    on_done: Callable[[dict[str, Any]], None] | None = None,
) -> Generation:
    """A plain reply without a `shape`; else one under its grammar, whose changes apply to the
    state in `chat_meta` (`on_done` gets the state after them)."""
    if shape is None:
        return engine.generate(prompt, sampling, stop=stops)
    # the grammar ends the reply: no stop strings, and room for its longest form
    budget = replace(sampling, max_tokens=max(sampling.max_tokens, shape.max_tokens))
    generation = engine.generate(prompt, budget, stop=(), grammar=shape.grammar)
    return StructuredGeneration(generation, shape, chat_meta, user, on_done)


def reply_annotations(generation: Generation) -> dict[str, Any]:
    """The message metadata a finished reply adds (none for a plain reply)."""
    if isinstance(generation, StructuredGeneration):
        return {NPC_META: generation.annotations()}
    return {}


def describe_action(action: object) -> str:
    """`give_item(item=sword)` for a reply's action."""
    if not isinstance(action, dict):
        return ""
    args = action.get("args")
    shown = ", ".join(f"{k}={v}" for k, v in args.items()) if isinstance(args, dict) else ""
    return f"{action.get('name', '?')}({shown})"


def annotation_text(note: dict[str, Any]) -> str:
    """One line for a log: emotion, action and changes (`anger · attack(target=you) · …`)."""
    parts = [str(note["emotion"])] if note.get("emotion") else []
    if note.get("action"):
        parts.append(describe_action(note["action"]))
    for change in note.get("changes", []):
        parts.append(f"{change['key']}: {change['from']} → {change['to']}")
    if note.get("error"):
        parts.append(str(note["error"]))
    return " · ".join(parts)


def instructions(session: ChatSession) -> str:
    """What the next prompt asks for, and the last reply's emotion and action."""
    return ask_for(session.sheet, session.user, session.state(), last_annotation(session))


def ask_for(sheet: Sheet, user: str, entries: list[StateEntry], last: dict[str, Any] | None) -> str:
    """The structured-reply instruction for `sheet` with its state `entries`, naming the `last`
    reply's emotion and action ("" when the sheet does not opt in)."""
    found = declaration(sheet)
    config = found.structured
    if config is None or not config.enabled:
        return ""
    char = sheet.name
    text = (
        f'Reply only with JSON: "line" is what {char} says aloud, "emotion" is one of '
        f"{', '.join(config.emotion_list)}."
    )
    if found.actions:
        listed = "; ".join(
            f"{a.name}({', '.join(a.args)})" + (f": {a.description}" if a.description else "")
            for a in found.actions
        )
        text += f' Optionally "action", one of: {listed}.'
    variables = [e.key for e in entries if not e.key.startswith(TRUST_PREFIX)]
    if variables:
        text += f' "state" sets new values of: {", ".join(variables)}.'
    if any(e.key.startswith(TRUST_PREFIX) for e in entries):
        text += f' "trust" changes trust by at most ±{config.trust_step}.'
    if last is not None and last.get("emotion"):
        text += f" Last reply: {annotation_text({**last, 'changes': []})}."
    return substitute(text, char=char, user=user)


@dataclass
class StructuredGeneration:
    """A structured reply streaming in: iterating yields only its `line`; the whole JSON is
    parsed and its changes applied once it ends."""

    inner: Generation
    shape: ReplyShape
    chat_meta: dict[str, Any]
    user: str
    on_done: Callable[[dict[str, Any]], None] | None = None
    raw: list[str] = field(default_factory=list)
    line: list[str] = field(default_factory=list)
    _head: str = ""
    _inside: bool | None = False
    """False: before the line's text; True: in it; None: past it."""
    _escape: str = ""
    _result: dict[str, Any] | None = None

    def __iter__(self) -> Iterator[str]:
        return self._lines(iter(self.inner))

    def batches(self, period: float) -> Iterator[str]:
        return self._lines(self.inner.batches(period))

    def prompt_progress(self, period: float) -> Iterator[tuple[int, int]]:
        return self.inner.prompt_progress(period)

    def cancel(self) -> None:
        self.inner.cancel()

    @property
    def text(self) -> str:
        return "".join(self.line)

    @property
    def stats(self) -> GenerationStats:
        return self.inner.stats

    def _lines(self, pieces: Iterator[str]) -> Iterator[str]:
        for piece in pieces:
            self.raw.append(piece)
            shown = self._feed(piece)
            if shown:
                self.line.append(shown)
                yield shown
        self.annotations()

    def _feed(self, piece: str) -> str:
        """The part of `piece` that is the line's text (JSON escapes decoded)."""
        if self._inside is None:
            return ""
        if self._inside is False:
            self._head += piece
            found = LINE_START.match(self._head)
            if found is None:
                return ""
            self._inside, piece = True, self._head[found.end() :]
        out: list[str] = []
        for char in piece:
            if self._escape or char == "\\":
                self._escape += char
                if _escape_done(self._escape):
                    out.append(json.loads(f'"{self._escape}"'))
                    self._escape = ""
            elif char == '"':
                self._inside = None
                break
            else:
                out.append(char)
        return "".join(out)

    def annotations(self) -> dict[str, Any]:
        """Emotion, action, applied changes and the state after them (`npc` metadata)."""
        if self._result is not None:
            return self._result
        raw = "".join(self.raw)
        try:
            reply = json.loads(raw)
        except ValueError:
            self._result = {"error": "the reply stopped before its JSON was complete", "raw": raw}
            return self._result
        shape = self.shape
        labels = {
            trust_key(substitute(r.name, char=shape.sheet.name, user=self.user)): r.name
            for r in shape.sheet.relationships
        }
        changes, after = apply_changes(
            shape.entries,
            reply,
            self.chat_meta,
            trust_step=shape.config.trust_step,
            relation_of=lambda label: labels.get(label, label),
            effects=_effects(shape.actions, reply.get("action")),
        )
        self._result = {
            "emotion": reply.get("emotion"),
            "action": reply.get("action"),
            "changes": changes,
            OVERLAY: after,
            "raw": raw,
        }
        if self.on_done is not None:
            self.on_done(after)
        return self._result


def _effects(actions: list[ActionDecl], chosen: object) -> dict[str, Any]:
    """What the chosen action sets (its declared `sets`)."""
    name = chosen.get("name") if isinstance(chosen, dict) else None
    return next((dict(a.sets) for a in actions if a.name == name), {})


def _escape_done(escape: str) -> bool:
    return len(escape) >= 2 and (escape[1] != "u" or len(escape) == 6)
