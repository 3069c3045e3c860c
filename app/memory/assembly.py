"""Prompt assembly: a character sheet and a chat history become role-tagged messages.

The layout is cache-friendly: everything that is fixed for a chat (the persona, example
dialogues, the greeting) comes first and never changes between turns, so each turn's prompt
extends the previous one and the engine evaluates only the new tokens.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.prompts.messages import Message
from app.sheets.macros import substitute
from app.sheets.sheet import Sheet


def system_text(sheet: Sheet, *, user: str, user_description: str = "") -> str:
    """The persona block: the sheet's own system prompt, then its descriptive fields."""
    parts: list[str] = []
    if sheet.system_prompt.strip():
        parts.append(sheet.system_prompt.strip())
    else:
        parts.append(
            f"You are {sheet.name}. Stay in character and write {sheet.name}'s next reply in a "
            f"role-play with {user}. Never write {user}'s lines."
        )
    for title, body in (
        ("Description", sheet.description),
        ("Personality", sheet.personality),
        ("Scenario", sheet.scenario),
        (f"About {user}", user_description),
    ):
        if body.strip():
            parts.append(f"{title}: {body.strip()}")
    if sheet.example_dialogues.strip():
        parts.append("Example dialogue:\n" + _examples(sheet.example_dialogues))
    return substitute("\n\n".join(parts), char=sheet.name, user=user)


def _examples(raw: str) -> str:
    """`<START>`-separated examples, as one block with blank lines between them."""
    blocks = [block.strip() for block in raw.replace("\r\n", "\n").split("<START>")]
    return "\n\n".join(block for block in blocks if block)


def build_messages(
    sheet: Sheet,
    history: Sequence[Message],
    *,
    user: str,
    user_description: str = "",
    greeting: str | None = None,
) -> list[Message]:
    """System persona, the greeting as the character's first turn, then the history as is."""
    messages = [Message("system", system_text(sheet, user=user, user_description=user_description))]
    first = sheet.first_message if greeting is None else greeting
    if first.strip():
        messages.append(Message("assistant", substitute(first.strip(), char=sheet.name, user=user)))
    messages.extend(history)
    return messages
