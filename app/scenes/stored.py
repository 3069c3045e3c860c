"""A scene run's chat in the store: created once, found again by `--resume`, and its nodes
looked up by (parent, line key) so a resumed run keeps what is already complete.

A scene with one NPC is stored as a one-to-one chat with that character; a larger cast as a
group scene (`group` metadata), so the app opens, swipes, edits and re-exports it like any other.
"""

from __future__ import annotations

from typing import Any

from app.errors import LoreweaverError
from app.export.graph import DIALOGUE_ID, LINE_KEY
from app.group.scene import GROUP_META, scene_id
from app.memory.store import MESSAGE_COLUMNS, Chat, ChatStore, StoredMessage, message_from_row
from app.scenes.prepare import Prepared

RUN_META = "scene_run"
"""The chat-metadata key of a scene run: scene id, fingerprint, seed, model, template."""


def owner(prepared: Prepared) -> str:
    cast = prepared.cast
    return cast[0].id if len(cast) == 1 else scene_id(cast)


def find_run(store: ChatStore, prepared: Prepared) -> Chat | None:
    """The newest stored run of this scene; refused when it was made differently."""
    for summary in store.list_chats(owner(prepared)):
        chat = store.get_chat(summary.id)
        run = chat.meta.get(RUN_META)
        if not isinstance(run, dict) or run.get("id") != prepared.id:
            continue
        if run.get("fingerprint") != prepared.fingerprint:
            raise LoreweaverError(
                f"chat {chat.id} holds scene {prepared.id!r} made from another script, seed, "
                "model or template: run without --resume to start a new run",
                path=prepared.path,
            )
        return chat
    return None


def new_run(store: ChatStore, prepared: Prepared) -> Chat:
    script = prepared.script
    meta: dict[str, Any] = {
        DIALOGUE_ID: prepared.id,
        RUN_META: {
            "id": prepared.id,
            "fingerprint": prepared.fingerprint,
            "seed": script.seed,
            "model": prepared.info.name,
            "template": prepared.fmt.id,
        },  # fmt: skip
        "user_description": script.persona.description,
    }
    if len(prepared.cast) > 1:
        meta[GROUP_META] = {"cast": [m.id for m in prepared.cast], "scene": script.setting}
    return store.create_chat(
        owner(prepared), title=script.title, user_name=script.persona.name, meta=meta
    )


class Nodes:
    """The chat's complete messages by (parent id, line key), alternatives in creation order."""

    def __init__(self, store: ChatStore, chat: Chat) -> None:
        self.store = store
        self.chat = chat
        self.found: dict[tuple[int | None, str], list[StoredMessage]] = {}
        with store.reading() as conn:
            rows = conn.execute(
                f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE chat_id = ? ORDER BY id",
                (chat.id,),
            ).fetchall()
        for message in map(message_from_row, rows):
            key = message.meta.get(LINE_KEY)
            if message.status == "complete" and isinstance(key, str):
                self.found.setdefault((message.parent_id, key), []).append(message)

    def get(self, parent: int | None, key: str) -> list[StoredMessage]:
        return self.found.get((parent, key), [])

    def keep(
        self, parent: int | None, key: str, role: str, text: str, name: str, meta: dict[str, Any]
    ) -> StoredMessage:
        """A fixed node: the existing one at this place, else a new one."""
        have = self.get(parent, key)
        return have[0] if have else self.add(parent, key, role, text, name, meta)

    def add(
        self, parent: int | None, key: str, role: str, text: str, name: str, meta: dict[str, Any]
    ) -> StoredMessage:
        stored = self.store.add_message(
            self.chat.id, role, text, parent_id=parent, name=name,
            meta={LINE_KEY: key, **meta},
        )  # fmt: skip
        self.found.setdefault((parent, key), []).append(stored)
        return stored
