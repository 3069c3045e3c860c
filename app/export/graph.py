"""A chat tree read from the store as a neutral dialogue graph, the one input of every exporter.

Lines are the tree's nodes: a player message is one line; an NPC message and its swipes (siblings
with the same parent, role and speaker) are one line with variants. A line with several children is
a fork: every exporter turns it into a choice. Each line's id is derived from the chat and the
line's place in the tree (its parent line's id and its key among its siblings, kept in the store
from the first export on: `keys`), never from its text, so a regenerated line keeps its id and
every other line keeps its own, whatever is deleted or added around them.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from app.export.keys import LINE_KEY as LINE_KEY  # scene runs write it
from app.export.keys import STAMP, Group, Keys, without_stamp
from app.memory.store import (
    MESSAGE_COLUMNS,
    Chat,
    ChatStore,
    StoredMessage,
    dump_json,
    message_from_row,
)
from app.text import safe_line

DIALOGUE_ID = "dialogue_id"
"""The chat-metadata key of the chat's id namespace (a scene run's scene id; for other chats
their number, stamped at the first export so a re-imported copy keeps its ids)."""

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
    number: int = 0
    """Its place among the line's swipes when it was first exported (kept when an earlier one is
    deleted; a new swipe takes a number never used on the line)."""


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
        """The id of one variant: the line's own id for number 0, a suffix for the others."""
        number = self.variants[index].number
        return self.id if number == 0 else f"{self.id}_{number}"


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


def stamp_dialogue(store: ChatStore, chat_id: int) -> Dialogue:
    """The chat's dialogue, its namespace and line keys kept in the store (one transaction), so
    later exports, and copies exported to a chat file and imported again (metadata travels),
    keep its ids. Only what changed is written (nothing, for an unchanged chat), each key set
    inside the stored metadata (unreadable metadata is left as it is, never replaced), and no
    `updated_at` moves: an export is not a visit (the chats list keeps its order)."""
    with store.transaction() as conn:
        chat = store.get_chat(chat_id)
        meta = chat.meta if DIALOGUE_ID in chat.meta else {**chat.meta, DIALOGUE_ID: str(chat_id)}
        dialogue, keys = _build(chat, meta, _messages(conn, chat_id))
        changes = dict(keys.changes())
        sets: dict[str, Any] = {STAMP: changes.pop(None)} if None in changes else {}
        if meta is not chat.meta:
            sets[DIALOGUE_ID] = meta[DIALOGUE_ID]
        if sets:
            paths = ", ".join(f"'$.{key}', json(?)" for key in sets)
            conn.execute(
                f"UPDATE chats SET meta = json_set(meta, {paths}) WHERE id = ? AND {_AN_OBJECT}",
                (*map(dump_json, sets.values()), chat_id),
            )
        conn.executemany(
            f"UPDATE messages SET meta = json_set(meta, '$.{STAMP}', json(?)) "
            f"WHERE id = ? AND {_AN_OBJECT}",
            [(dump_json(stamp), row) for row, stamp in changes.items()],
        )
    return dialogue


_AN_OBJECT = "CASE WHEN json_valid(meta) THEN json_type(meta) = 'object' END"
"""SQL: the row's stored metadata is a JSON object (keys are set in it, never over it)."""


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
        self, namespace: str, messages: list[StoredMessage], names: dict[str, str], keys: Keys
    ) -> None:
        self.namespace = namespace
        self.names = names
        self.keys = keys
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

    def groups(self, parents: list[int | None]) -> list[Group]:
        """The lines below some messages: each player message alone, NPC swipes together (one
        speaker's replies to one message)."""
        found: dict[tuple[Any, ...], Group] = {}
        for parent in parents:
            for message in self.kept_children(parent):
                slot = "" if message.role == "user" else f"{message.role}:{self.speaker(message)}"
                key = (message.id,) if not slot else (parent, slot)
                found.setdefault(key, (parent, slot, []))[2].append(message)
        return sorted(found.values(), key=lambda group: group[2][0].id)

    def roots(self) -> tuple[Line, ...]:
        # (messages, swipe numbers, id, parent slot) top-down; children filled in bottom-up.
        order: list[tuple[list[StoredMessage], list[int], str, int]] = []
        stack: list[tuple[list[int | None], str, int]] = [([None], "", -1)]
        while stack:
            parents, above, slot = stack.pop()
            groups = self.groups(parents)
            for (_, _, group), (key, numbers) in zip(
                groups, self.keys.siblings(groups), strict=True
            ):
                ident = line_id(self.namespace, above, key)
                order.append((group, numbers, ident, slot))
                stack.append(([m.id for m in group], ident, len(order) - 1))
        children: dict[int, list[Line]] = {}
        for position in range(len(order) - 1, -1, -1):
            group, numbers, ident, slot = order[position]
            line = Line(
                id=ident,
                role=group[0].role,
                speaker=self.speaker(group[0]),
                variants=tuple(map(_variant, group, numbers)),
                children=tuple(reversed(children.pop(position, []))),
            )
            children.setdefault(slot, []).append(line)
        return tuple(reversed(children.get(-1, [])))


def _variant(message: StoredMessage, number: int) -> Variant:
    meta = without_stamp(message.meta)
    emotion, action = _tag(meta, "emotion"), _tag(meta, "action")
    return Variant(message.id, message.content, meta, emotion, action, number)


def _messages(conn: sqlite3.Connection, chat_id: int) -> tuple[list[StoredMessage], frozenset[int]]:
    """The chat's messages, and those whose stored metadata is no JSON object (no key is kept
    in them: `Keys.unkept`)."""
    rows = conn.execute(
        f"SELECT {MESSAGE_COLUMNS}, COALESCE({_AN_OBJECT}, 0) AS readable FROM messages "
        "WHERE chat_id = ? ORDER BY id",
        (chat_id,),
    ).fetchall()
    unkept = frozenset(int(row["id"]) for row in rows if not row["readable"])
    return [message_from_row(row) for row in rows], unkept


def _build(
    chat: Chat, meta: dict[str, Any], read: tuple[list[StoredMessage], frozenset[int]]
) -> tuple[Dialogue, Keys]:
    messages, unkept = read
    names = {"user": chat.user_name, "assistant": chat.character_id, "system": "Narrator"}
    namespace = namespace_of(meta, chat.id)
    keys = Keys(meta, messages, unkept)
    dialogue = Dialogue(
        namespace=namespace,
        title=chat.title or chat.character_id,
        character_id=chat.character_id,
        user_name=chat.user_name,
        meta=without_stamp(meta),
        roots=_Builder(namespace, messages, names, keys).roots(),
    )
    return dialogue, keys


def load_dialogue(store: ChatStore, chat_id: int) -> Dialogue:
    """The whole tree of `chat_id` (every branch and swipe, not just the active path), its
    ids as `stamp_dialogue` would keep them, nothing written."""
    with store.reading() as conn:
        chat = store.get_chat(chat_id)
        read = _messages(conn, chat_id)
    return _build(chat, chat.meta, read)[0]


def one_line(text: str) -> str:
    """Text for a one-line script statement: controls made visible, line breaks and runs of
    spaces one space (every script format here is line based)."""
    return " ".join(safe_line(text).split())
