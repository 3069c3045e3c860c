"""Reshaping a conversation for families that have no system role and insist on alternation.

Gemma (and older Mistral) templates know only `user` and `assistant`/`model` turns, must start
with the user and must alternate; Gemma-2's and Mistral-v0.1's own templates raise otherwise. A
role-play chat starts with a persona (system) and often with the character's greeting
(assistant), so it is reshaped here rather than losing the persona: the system text joins the
user turn that follows it, or becomes a user turn of its own when the greeting comes first.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.prompts.messages import Message, Role

SEPARATOR = "\n\n"
"""Between texts merged into one turn: a paragraph break, as Gemma 3's template uses."""


def alternating(messages: Sequence[Message]) -> list[Message]:
    """User/assistant turns only, starting with the user, never two of one role in a row.

    System texts count as user text. Merging only ever touches the newest turn, so adding a
    reply and a user message to a conversation leaves the earlier turns unchanged (the
    rendered prompt stays a prefix of the next one).
    """
    turns: list[Message] = []
    for message in messages:
        if message.role == "system" and not message.content.strip():
            continue
        role: Role = "assistant" if message.role == "assistant" else "user"
        if turns and turns[-1].role == role:
            turns[-1] = Message(role, _join(turns[-1].content, message.content))
        else:
            turns.append(Message(role, message.content))
    if turns and turns[0].role == "assistant":
        turns.insert(0, Message("user", ""))
    return turns


def _join(first: str, second: str) -> str:
    return SEPARATOR.join(part.strip() for part in (first, second) if part.strip())
