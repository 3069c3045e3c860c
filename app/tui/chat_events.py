"""What the chat controller tells its screen: plain records, no Textual (the screen wraps each in a
`ChatEvent` message; `bench --tui` and tests read them there)."""

from __future__ import annotations

from dataclasses import dataclass

from app.engine.base import GenerationStats


@dataclass(frozen=True)
class Shown:
    """What one block of the chat log shows: enough to tell whether it must be redrawn."""

    message_id: int | None
    speaker: str
    text: str
    mine: bool
    swipe: tuple[int, int] | None = None
    note: str = ""
    """A structured reply's emotion, action and state changes, shown under its line."""


@dataclass(frozen=True)
class ChatOpened:
    """A session is ready on `character`'s chat `chat_id` (None: not saved); `note` says how
    the prompt format differs from the one asked for (a model's template that failed)."""

    character: str
    chat_id: int | None
    note: str = ""


@dataclass(frozen=True)
class ReplyStarted:
    """The reply has its prompt and is generating; `prefix` is a continued reply's text."""

    speaker: str
    prefix: str


@dataclass(frozen=True)
class ReplyProgress:
    """The prompt is being evaluated: `evaluated` of `total` tokens so far."""

    evaluated: int
    total: int


@dataclass(frozen=True)
class ReplyChunk:
    text: str


@dataclass(frozen=True)
class ReplyDone:
    stats: GenerationStats


@dataclass(frozen=True)
class ReplyFailed:
    error: str


@dataclass(frozen=True)
class BackgroundFailed:
    """Work behind the chat failed (a summary of old turns): the chat goes on, the user is told."""

    error: str


@dataclass(frozen=True)
class DraftChunk:
    """Text of the user's line the model is drafting (impersonate); `done` ends the draft."""

    text: str
    done: bool = False


ChatEventKind = (
    ChatOpened
    | ReplyStarted
    | ReplyProgress
    | ReplyChunk
    | ReplyDone
    | ReplyFailed
    | DraftChunk
    | BackgroundFailed
)
