"""Asking the model for a recap: of a span of messages, or of several summaries (a roll-up).

Greedy sampling, so the same span always gives the same recap; the text is cleaned of labels
and of a sentence cut off by the token limit.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence

from app.engine.base import Engine, Sampling
from app.errors import Cancelled
from app.memory.store import StoredMessage
from app.memory.summaries.store import Summary
from app.prompts.formats import PromptFormat
from app.prompts.messages import Message

MESSAGE_CHARS = 1500
"""Longer messages are cut in the transcript the model reads (the recap can't keep it all)."""

_INSTRUCTION = (
    "You write short recaps of role-play conversations. Write in the third person and the "
    "past tense. Keep names, places, items, promises and numbers. Do not continue the story "
    "and do not add anything that did not happen."
)
_SENTENCE_END = re.compile(r"[.!?…][\"”')]?(?=\s|$)")
_LABEL = re.compile(r"^\s*(?:\*\*)?(?:recap|summary)(?:\*\*)?\s*:\s*", re.IGNORECASE)


def _speaker(message: StoredMessage, *, char: str, user: str) -> str:
    if message.name:
        return message.name
    return {"user": user, "assistant": char}.get(message.role, "Narrator")


def _clean(text: str) -> str:
    """The recap without a "Summary:" label, cut back to its last full sentence if it ran out."""
    text = _LABEL.sub("", text.strip()).strip()
    ends = [match.end() for match in _SENTENCE_END.finditer(text)]
    return text[: ends[-1]] if ends else text


def _recap(
    engine: Engine,
    fmt: PromptFormat,
    request: str,
    *,
    max_tokens: int,
    cancel: threading.Event | None,
) -> str:
    prompt = fmt.render([Message("system", _INSTRUCTION), Message("user", request)])
    sampling = Sampling(
        temperature=0.0, top_p=1.0, top_k=1, min_p=0.0, repeat_penalty=1.15, seed=0,
        max_tokens=max_tokens,
    )  # fmt: skip
    generation = engine.generate(prompt, sampling, stop=fmt.stop, cancel=cancel)
    for _ in generation:
        pass
    if generation.stats.finish_reason == "cancelled":
        raise Cancelled("summary cancelled")
    return _clean(generation.text)


def summarise(
    engine: Engine,
    fmt: PromptFormat,
    messages: Sequence[StoredMessage],
    *,
    char: str,
    user: str,
    max_tokens: int = 200,
    previous: str | None = None,
    cancel: threading.Event | None = None,
) -> str:
    """A third-person recap of `messages`, written by the model (greedy, so repeatable).

    `previous` is the recap of what came before, so the model can keep names straight; it is
    context only and not repeated. Raises `Cancelled` if `cancel` was set mid-way.
    """
    lines = []
    for message in messages:
        content = " ".join(message.content.split())
        if len(content) > MESSAGE_CHARS:
            content = content[:MESSAGE_CHARS] + " …"
        lines.append(f"{_speaker(message, char=char, user=user)}: {content}")
    context = f"Earlier: {previous.strip()}\n\n" if previous and previous.strip() else ""
    request = (
        f"{context}Conversation between {user} and {char}:\n"
        + "\n".join(lines)
        + f"\n\nWrite a short recap of what {user} and {char} said and did in this conversation."
    )
    return _recap(engine, fmt, request, max_tokens=max_tokens, cancel=cancel)


def summarise_summaries(
    engine: Engine,
    fmt: PromptFormat,
    summaries: Sequence[Summary],
    *,
    char: str,
    user: str,
    max_tokens: int = 200,
    cancel: threading.Event | None = None,
) -> str:
    """One recap standing for several consecutive ones (a roll-up)."""
    parts = "\n".join(f"- {s.text}" for s in summaries)
    request = (
        f"Recaps of a role-play between {user} and {char}, oldest first:\n{parts}\n\n"
        "Combine them into one shorter recap that keeps the important facts."
    )
    return _recap(engine, fmt, request, max_tokens=max_tokens, cancel=cancel)
