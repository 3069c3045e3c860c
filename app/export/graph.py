"""A chat tree read from the store as a neutral dialogue graph, the one input of every exporter.

Lines are the tree's nodes: a player message is one line; an NPC message and its swipes (siblings
with the same parent, role and speaker) are one line with variants. A line with several children is
a fork: every exporter turns it into a choice. Each line's id is derived from the chat and the
line's position in the tree (child indexes, ordered by creation), never from its text, so a
regenerated line keeps its id and every other line keeps its own.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from app.memory.store import (
    MESSAGE_COLUMNS,
    ChatStore,
    StoredMessage,
    dump_json,
    message_from_row,
)
from app.text import safe_line

DIALOGUE_ID = "dialogue_id"
"""The chat-metadata key of the chat's id namespace (a scene run's scene id; for other chats
their number, stamped at the first export so a re-imported copy keeps its ids)."""
LINE_KEY = "line_key"
"""The message-metadata key of a line's place among its siblings (a scene run writes the
script position), used instead of the sibling index so deleting a sibling moves no id."""

_SKIPPED = ("failed", "streaming")
"""A failed reply has no text and a streaming one is not final: neither is a line, nor is a blank
message (their children, if any, hang from the line above)."""


@dataclass(frozen=True)
class Variant:
    """One wording of a line (a swipe), with what produced it."""

    message_id: int
    text: str
    meta: dict[str, Any]
    emotion: str | None = None
    action: str | None = None


@dataclass(frozen=True)
class Line:
    id: str
    role: str
    speaker: str
    variants: tuple[Variant, ...]
    children: tuple[Line, ...] = ()

    @property
    def is_player(self) -> bool:
        return self.role == "user"

    @property
    def text(self) -> str:
        return self.variants[0].text

    def variant_id(self, index: int) -> str:
        """The id of one variant: the line's own id for the first, a suffix for the others."""
        return self.id if index == 0 else f"{self.id}_{index}"


@dataclass(frozen=True)
class Dialogue:
    namespace: str
    """What line ids are derived from besides the tree position (never the store's row id)."""
    title: str
    character_id: str
    user_name: str
    meta: dict[str, Any]
    roots: tuple[Line, ...] = field(default_factory=tuple)

    def lines(self) -> list[Line]:
        """Every line, depth first in the tree's order."""
        out: list[Line] = []
        stack = list(reversed(self.roots))
        while stack:
            line = stack.pop()
            out.append(line)
            stack.extend(reversed(line.children))
        return out


def line_id(namespace: str, parent_id: str, key: str) -> str:
    """Stable id from the chat's namespace and the node path (the parent line's id chains the
    path above; `key` is the line's place below it): letters, digits and `_` only, so it is an
    identifier, hashtag and passage name everywhere. A numeric namespace (a chat stamped with
    its number) keeps the ids that chat had before namespaces existed."""
    if namespace.isdigit():
        digest = hashlib.sha256(f"{namespace}:{parent_id}:{key}".encode()).hexdigest()
        return f"L{namespace}_{digest[:12]}"
    digest = hashlib.sha256(f"ns:{namespace}:{parent_id}:{key}".encode()).hexdigest()
    return f"L{digest[:16]}"


def stamp_namespace(store: ChatStore, chat_id: int) -> None:
    """Keep the chat's namespace in its metadata from its first export on, so a copy exported
    to a chat file and imported again (metadata travels) keeps its line ids. The chat's
    `updated_at` is left alone: an export is not a visit (the chats list keeps its order)."""
    chat = store.get_chat(chat_id)
    if DIALOGUE_ID in chat.meta:
        return
    meta = dump_json({**chat.meta, DIALOGUE_ID: str(chat_id)})
    with store.transaction() as conn:
        conn.execute("UPDATE chats SET meta = ? WHERE id = ?", (meta, chat_id))


def namespace_of(meta: dict[str, Any], chat_id: int) -> str:
    found = meta.get(DIALOGUE_ID)
    return found if isinstance(found, str) and found.strip() else str(chat_id)


def speaker_id(name: str) -> str:
    """A speaker name as an identifier (Yarn character ids, Ren'Py variables): word characters."""
    cleaned = re.sub(r"\W+", "_", name).strip("_")
    return cleaned if cleaned and not cleaned[0].isdigit() else f"S_{cleaned}"


def _tag(meta: dict[str, Any], key: str) -> str | None:
    """Emotion or action of a structured reply, read defensively wherever a writer put it: top
    level, `npc` (the NPC replies' annotations) or `structured`. An action may be a name or
    `{"name", "args"}`: the name is the tag (the arguments stay in the JSON export's meta)."""
    for source in (meta, meta.get("npc"), meta.get("structured")):
        if isinstance(source, dict):
            value = source.get(key)
            if isinstance(value, dict):
                value = value.get("name")
            if isinstance(value, str) and value.strip():
                return " ".join(value.split())
    return None


class _Builder:
    """Groups messages into lines top-down, then builds the frozen lines bottom-up (no recursion:
    a chat can be thousands of messages deep)."""

    def __init__(
        self, namespace: str, messages: list[StoredMessage], names: dict[str, str]
    ) -> None:
        self.namespace = namespace
        self.names = names
        self.below: dict[int | None, list[StoredMessage]] = {}
        for message in messages:
            self.below.setdefault(message.parent_id, []).append(message)

    def kept_children(self, parent: int | None) -> list[StoredMessage]:
        """Children in creation order, a skipped message replaced by its own children."""
        out: list[StoredMessage] = []
        stack = list(reversed(self.below.get(parent, [])))
        while stack:
            message = stack.pop()
            if message.status in _SKIPPED or not one_line(message.content):
                stack.extend(reversed(self.below.get(message.id, [])))
            else:
                out.append(message)
        return sorted(out, key=lambda m: m.id)

    def speaker(self, message: StoredMessage) -> str:
        return message.name or self.names.get(message.role, message.role)

    def groups(self, parents: list[int | None]) -> list[list[StoredMessage]]:
        """The lines below some messages: each player message alone, NPC swipes together."""
        found: dict[tuple[Any, ...], list[StoredMessage]] = {}
        for parent in parents:
            for message in self.kept_children(parent):
                key: tuple[Any, ...] = (
                    ("user", message.id)
                    if message.role == "user"
                    else (parent, message.role, self.speaker(message))
                )
                found.setdefault(key, []).append(message)
        return sorted(found.values(), key=lambda group: group[0].id)

    def roots(self) -> tuple[Line, ...]:
        # (group, id, parent slot) in top-down order; children filled in bottom-up.
        order: list[tuple[list[StoredMessage], str, int]] = []
        stack: list[tuple[list[int | None], str, int]] = [([None], "", -1)]
        while stack:
            parents, above, slot = stack.pop()
            for index, group in enumerate(self.groups(parents)):
                key = group[0].meta.get(LINE_KEY)
                ident = line_id(self.namespace, above, key if isinstance(key, str) else str(index))
                order.append((group, ident, slot))
                stack.append(([m.id for m in group], ident, len(order) - 1))
        children: dict[int, list[Line]] = {}
        for position in range(len(order) - 1, -1, -1):
            group, ident, slot = order[position]
            line = Line(
                id=ident,
                role=group[0].role,
                speaker=self.speaker(group[0]),
                variants=tuple(_variant(m) for m in group),
                children=tuple(reversed(children.pop(position, []))),
            )
            children.setdefault(slot, []).append(line)
        return tuple(reversed(children.get(-1, [])))


def _variant(message: StoredMessage) -> Variant:
    meta = message.meta
    return Variant(message.id, message.content, meta, _tag(meta, "emotion"), _tag(meta, "action"))


def load_dialogue(store: ChatStore, chat_id: int) -> Dialogue:
    """The whole tree of `chat_id` (every branch and swipe), not just the active path."""
    with store.reading() as conn:
        chat = store.get_chat(chat_id)
        rows = conn.execute(
            f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE chat_id = ? ORDER BY id", (chat_id,)
        ).fetchall()
    messages = [message_from_row(row) for row in rows]
    names = {"user": chat.user_name, "assistant": chat.character_id, "system": "Narrator"}
    namespace = namespace_of(chat.meta, chat.id)
    builder = _Builder(namespace, messages, names)
    return Dialogue(
        namespace=namespace,
        title=chat.title or chat.character_id,
        character_id=chat.character_id,
        user_name=chat.user_name,
        meta=chat.meta,
        roots=builder.roots(),
    )


def one_line(text: str) -> str:
    """Text for a one-line script statement: controls made visible, line breaks and runs of
    spaces one space (every script format here is line based)."""
    return " ".join(safe_line(text).split())
