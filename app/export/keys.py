"""Line keys kept in the store, so a line's id survives what a user does between exports.

A line's id hashes the chat's namespace, the parent line's id and the line's key (`line_id`).
Were the key the line's place among its siblings today, deleting a swipe or a branch would move
the ids of every later sibling and of everything below them, and a strings table made from an
earlier export would point at the wrong lines. So the first export keeps every line's key as it
was then (its sibling index, which is what ids were made from before keys were kept: a chat
exported then keeps its ids), and a line that appears later gets a key no sibling of it ever had
(`m` and its first message's row id; row ids are never reused). Likewise each swipe keeps its
variant number (`L…_2`) when an earlier swipe is deleted, and a new swipe takes the next number
never used on that line.

Where a key lives: a player line is one message, so on that message. An NPC line is one
speaker's replies under one message, swipes that come and go, so on that message (the chat, for
a root line) under `replies`, by speaker, with the line's next free variant number; each swipe
keeps its own number. All of it is one metadata key, `STAMP`, on messages and on the chat: no
export shows it, and the chat file (`chats export` / `chats import`) and a branch's copy carry
it, so a copy keeps its ids. A scene run's lines come with keys of their own (`LINE_KEY`, their
script position), which the first export keeps.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from app.memory.store import StoredMessage

LINE_KEY = "line_key"
"""The message-metadata key of a line's key given by its writer (a scene run writes the script
position): the line's key until one is kept."""
STAMP = "dialogue_keys"
"""The metadata key (on messages and on the chat) of the keys the exports keep; on the chat its
presence also says the chat's keys were kept once (new lines then get new keys, not indexes)."""

Group = tuple[int | None, str, list[StoredMessage]]
"""One line below a parent line: the message it hangs from (None: a root), its NPC slot
(`role:speaker`, empty for a player line), its messages in creation order."""


def _number(value: Any) -> int | None:
    """A kept swipe number; anything else (a hand-edited or damaged stamp) is none."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**31:
        return value
    return None


def _fields(found: dict[str, Any], number: str) -> dict[str, Any]:
    out: dict[str, Any] = {"key": found["key"]} if isinstance(found.get("key"), str) else {}
    if _number(found.get(number)) is not None:
        out[number] = found[number]
    return out


def _stamp(meta: dict[str, Any]) -> dict[str, Any]:
    """Only the fields of a kept stamp that hold what they should: the rest of a damaged or
    hand-edited one is dropped (and rewritten clean if anything changes)."""
    found = meta.get(STAMP)
    if not isinstance(found, dict):
        return {}
    out = _fields(found, "variant")
    replies = found.get("replies")
    if isinstance(replies, dict):
        out["replies"] = {
            slot: _fields(entry, "next")
            for slot, entry in replies.items()
            if isinstance(entry, dict)
        }
    return out


def without_stamp(meta: dict[str, Any]) -> dict[str, Any]:
    """Metadata as the exports show it (the keys are bookkeeping, not content)."""
    if STAMP not in meta:
        return meta
    shown = dict(meta)
    del shown[STAMP]
    return shown


class Keys:
    """Decides every line's key and every swipe's number while the graph is built, and collects
    the stamps that keep them (`changes`): the same tree and stamps give the same decisions."""

    def __init__(
        self,
        chat_meta: dict[str, Any],
        messages: Iterable[StoredMessage],
        unkept: frozenset[int] = frozenset(),
    ) -> None:
        self.first = not isinstance(chat_meta.get(STAMP), dict)
        self.unkept = unkept
        """Rows whose stored metadata is no JSON object (damaged or hand-edited): nothing is
        kept in them, so their swipes are numbered after the kept ones, and the line's next
        free number does not count them (the same decisions at every export)."""
        self.metas: dict[int | None, dict[str, Any]] = {None: chat_meta}
        self.metas.update((message.id, message.meta) for message in messages)
        self.stamps: dict[int | None, dict[str, Any]] = {}
        self.changed: set[int | None] = {None} if self.first else set()

    def stamp_of(self, row: int | None) -> dict[str, Any]:
        try:
            return self.stamps[row]
        except KeyError:
            stamp = self.stamps[row] = _stamp(self.metas[row])
            return stamp

    def _set(self, row: int | None, field: str, value: Any) -> None:
        stamp = self.stamp_of(row)
        if stamp.get(field) != value:
            stamp[field] = value
            self.changed.add(row)

    def _reply(self, holder: int | None, slot: str) -> dict[str, Any]:
        replies = self.stamp_of(holder).get("replies")
        entry = replies.get(slot) if isinstance(replies, dict) else None
        return entry if isinstance(entry, dict) else {}

    def _kept(self, holder: int | None, slot: str, group: list[StoredMessage]) -> str | None:
        """The key kept for this line, else the one its writer gave (a scene's, which the
        first export keeps: once kept, a key stays, whatever a copied or edited one says)."""
        kept = (
            self.stamp_of(group[0].id).get("key")
            if not slot
            else self._reply(holder, slot).get("key")
        )
        if isinstance(kept, str):
            return kept
        given = (message.meta.get(LINE_KEY) for message in group)
        return next((key for key in given if isinstance(key, str)), None)

    def siblings(self, groups: list[Group]) -> list[tuple[str, list[int]]]:
        """The key and swipe numbers of each line below one parent line (in creation order): a
        kept key is the first holder's; the others get new ones, never a sibling's."""
        kept: list[str | None] = []
        claimed: set[str] = set()
        for holder, slot, group in groups:
            key = self._kept(holder, slot, group)
            kept.append(key if key not in claimed else None)
            if key is not None:
                claimed.add(key)
        out: list[tuple[str, list[int]]] = []
        for index, ((holder, slot, group), key) in enumerate(zip(groups, kept, strict=True)):
            if key is None:
                home = holder if slot else group[0].id  # where the key is kept
                kept_there = home is None or home not in self.unkept
                key = str(index) if self.first and kept_there else f"m{group[0].id}"
                while key in claimed:  # only a copied or hand-made key can be in the way
                    key = f"m{group[0].id}" if key.isdigit() else f"{key}_"
                claimed.add(key)
            out.append((key, self._keep(holder, slot, group, key)))
        return out

    def _keep(
        self, holder: int | None, slot: str, group: list[StoredMessage], key: str
    ) -> list[int]:
        if not slot:  # a player line: one message, no swipes
            self._set(group[0].id, "key", key)
            return [0]
        entry = self._reply(holder, slot)
        kept: list[int | None] = []
        claimed: set[int] = set()
        for message in group:
            number = _number(self.stamp_of(message.id).get("variant"))
            kept.append(number if number not in claimed else None)
            if number is not None:
                claimed.add(number)
        free = max([_number(entry.get("next")) or 0, *(n + 1 for n in claimed)])
        numbers: dict[int, int] = {}
        for index, (message, number) in enumerate(zip(group, kept, strict=True)):
            if number is None and message.id not in self.unkept:
                number = index if self.first and index not in claimed else free
                while number in claimed:
                    number += 1
                claimed.add(number)
                free = max(free, number + 1)
            if number is not None:
                self._set(message.id, "variant", number)
                numbers[message.id] = number
        after = free
        for message in group:
            if message.id not in numbers:
                numbers[message.id] = after
                after += 1
        if entry != {"key": key, "next": free}:
            replies = dict(self.stamp_of(holder).get("replies") or {})
            replies[slot] = {"key": key, "next": free}
            self._set(holder, "replies", replies)
        return [numbers[message.id] for message in group]

    def changes(self) -> list[tuple[int | None, dict[str, Any]]]:
        """(row id, or None for the chat; its new `STAMP` value) for every row whose kept keys
        change: none once a chat is stamped and unchanged."""
        return [(row, self.stamp_of(row)) for row in self.changed]
