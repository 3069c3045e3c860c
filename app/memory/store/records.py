"""The chat store's nouns: plain frozen dataclasses, so callers never hold a live database row."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from app.prompts.messages import Message, Role

Status = Literal["streaming", "complete", "cancelled", "interrupted", "failed"]
"""`streaming` while a reply is being written; `interrupted` when its writer died mid-reply;
`failed` when it never started (its prompt or the engine failed; `meta["error"]` says why)."""

ROLES: tuple[Role, ...] = ("system", "user", "assistant")
STATUSES: tuple[Status, ...] = ("streaming", "complete", "cancelled", "interrupted", "failed")


@dataclass(frozen=True)
class Chat:
    id: int
    character_id: str
    """Whose chat this is: a character id, or a scene id for group scenes."""
    title: str | None
    user_name: str
    meta: dict[str, Any] = field(default_factory=dict)
    active_leaf_id: int | None = None
    """The last message of the path the user is on (None for an empty chat)."""
    created_at: float = 0.0
    updated_at: float = 0.0


@dataclass(frozen=True)
class ChatSummary:
    """One row of `chats list`: enough to pick a chat without loading it."""

    id: int
    character_id: str
    title: str | None
    message_count: int
    """Messages on the active path (what the user sees), not every stored variant."""
    created_at: float
    updated_at: float
    last_message: str
    """The active leaf's text, for a preview."""


@dataclass(frozen=True)
class StoredMessage:
    id: int
    chat_id: int
    parent_id: int | None
    role: Role
    content: str
    name: str | None = None
    """Who spoke, as shown (a character or persona name); None means the chat's default."""
    status: Status = "complete"
    meta: dict[str, Any] = field(default_factory=dict)
    """Generation metadata: model file, template, sampling, seed, token counts, timings."""
    depth: int = 0
    """Position on its path: the root is 0."""
    importance: float = 0.0
    created_at: float = 0.0
    updated_at: float = 0.0

    def as_message(self) -> Message:
        return Message(self.role, self.content)
