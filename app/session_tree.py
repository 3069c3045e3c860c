"""The chat tree as a session moves about it: swipes, regenerate, continue, edit, delete, branch.

Kept apart from `app.session` (whose methods of the same names call these): these change which
path of the stored tree is active, while the session writes and prompts along it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from app.engine.base import Sampling
from app.errors import LoreweaverError
from app.memory.authors_note import save_note
from app.memory.store import Chat, ChatStore
from app.reply import Reply
from app.session_chat import visible_path

if TYPE_CHECKING:
    from app.session import ChatSession


class TreeView(Protocol):
    """What moves about a stored chat tree: a one-to-one session, or a group scene."""

    store: ChatStore | None
    chat: Chat | None

    @property
    def ids(self) -> Sequence[int]:
        """The store ids of the active path's shown messages, in order."""
        ...

    def saved_chat(self) -> Chat | None: ...

    def reload(self) -> None:
        """Re-read the active path after the tree changed."""
        ...


def stored(session: TreeView) -> tuple[ChatStore, Chat]:
    """The session's store and chat; a new chat is stored first (its tree starts then)."""
    chat = session.saved_chat()
    if session.store is None or chat is None:
        raise LoreweaverError("this chat is not saved, so it has no swipes, edits or branches")
    return session.store, chat


def message_id(session: TreeView, index: int) -> int:
    """The store id of the shown message at `index`; one clear error when there is none."""
    ids = session.ids
    if not -len(ids) <= index < len(ids):
        raise LoreweaverError("the chat is empty" if not ids else f"no message at {index}")
    return ids[index]


def reload(session: ChatSession) -> None:
    """Re-read the active path from the store (after any change to the tree)."""
    store, chat = stored(session)
    session.chat = store.get_chat(chat.id)
    session.history = visible_path(store, chat.id, session.tokenizer)
    session.ids = session.history.ids


def regenerate(session: ChatSession, sampling: Sampling) -> Reply:
    """A new reply to the last user line, kept as another swipe beside the current one.

    When the path ends on the user's line (its reply was stopped empty or deleted), this
    simply replies to it.
    """
    store, _ = stored(session)
    history = session.history
    if not history or (history[-1].role == "assistant" and len(history) == 1):
        raise LoreweaverError(
            "nothing to regenerate yet: the greeting's swipes are the alternate greetings"
        )
    if session.history[-1].role == "assistant":
        parent = store.get_message(session.ids[-1]).parent_id
        base = session.history[:-1]
        session.history, session.ids = base, session.ids[:-1]
    else:
        parent = session.ids[-1]
        base = session.history
    session.reserve = sampling.max_tokens
    plan = session.plan(history=base)
    session._keep_lore_timers(plan.inputs)
    prompt = session.fmt.render(plan.assembly.messages)
    return session._reply(prompt, sampling, session._writer(parent_id=parent), plan.evicted)


def continue_reply(session: ChatSession, sampling: Sampling) -> Reply:
    """More of the last reply: the model picks up where the text stops, in the same message."""
    if not session.history or session.history[-1].role != "assistant":
        raise LoreweaverError("there is no reply to continue: the last message is the user's")
    session.saved_chat()
    last = session.history[-1]
    session.reserve = sampling.max_tokens
    plan = session.plan(history=session.history[:-1])
    prompt = session.fmt.render(plan.assembly.messages) + last.content
    writer = (
        session._writer(extend=session.store.get_message(session.ids[-1]))
        if session.store is not None
        else session._writer()
    )
    session.history, session.ids = session.history[:-1], session.ids[:-1]
    return session._reply(prompt, sampling, writer, plan.evicted, prefix=last.content)


def swipe_position(session: TreeView, index: int = -1) -> tuple[int, int]:
    """(n, of) for the message at `index` of the history: it is swipe n of `of` (1-based)."""
    store, _ = stored(session)
    at = message_id(session, index)
    siblings = [m.id for m in store.swipes(at)]
    return siblings.index(at) + 1, len(siblings)


def swipe(session: TreeView, step: int, index: int = -1) -> tuple[int, int]:
    """Show the alternative `step` places left (−) or right (+) of the message at `index`.

    Returns the new (n, of); raises when there is nothing further that way.
    """
    store, _ = stored(session)
    at = message_id(session, index)
    siblings = [m.id for m in store.swipes(at)]
    target = siblings.index(at) + step
    if not 0 <= target < len(siblings):
        raise LoreweaverError("no more swipes that way")
    store.select(siblings[target])
    session.reload()
    return target + 1, len(siblings)


def edit(session: TreeView, index: int, text: str) -> None:
    """Replace the text of the history's message at `index` (the old text is kept)."""
    store, _ = stored(session)
    if not text.strip():
        raise LoreweaverError("a message cannot be edited to nothing: delete it instead")
    store.edit(message_id(session, index), text)
    session.reload()


def delete(session: TreeView, index: int) -> None:
    """Delete the history's message at `index` and everything after it on this branch."""
    store, _ = stored(session)
    store.delete(message_id(session, index))
    session.reload()


def branch_path(session: TreeView, index: int) -> Chat:
    """Start a new chat from the path up to `index` (its metadata copied); the view moves to it."""
    store, _ = stored(session)
    session.chat = store.branch(message_id(session, index))
    session.reload()
    return session.chat


def branch(session: ChatSession, index: int) -> Chat:
    """`branch_path` for a session: the new chat keeps the author's note too."""
    chat = branch_path(session, index)
    if session.store is not None:
        save_note(session.store, chat.id, session.authors_note)
    return chat
