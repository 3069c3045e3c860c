"""What the chat screen's status bar says: the model (and its LoRA on a wide screen), the
prompt format, who the user is, the last reply's figures (or the context size), and any failed
background work.

Kept apart from `app.tui.controller` (whose `status` calls this): this only reads the controller.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.engine.adapters import label as adapter_label
from app.reply import Reply

if TYPE_CHECKING:
    from app.engine.base import Engine
    from app.tui.controller import ChatController

MODEL_NAME_CHARS = 24
"""The status bar shortens longer model names (the reply's figures must stay visible)."""
WIDE = 100
"""Columns from which the side list and the model's name are shown."""


def status(controller: ChatController, width: int) -> str:
    """The status bar's text at `width` columns (the model's name only from `WIDE`)."""
    parts = []
    if controller.model is not None and controller.engine is not None:
        name = controller.model.name
        if len(name) > MODEL_NAME_CHARS:
            name = name[: MODEL_NAME_CHARS - 1] + "…"
        if width >= WIDE:
            parts.append(name)
            session = controller.session  # the set its next reply applies: a group scene
            adapters = session.adapters if session is not None else controller.engine.adapters
            if adapters:  # the character's voice (app.speaker_adapters)
                parts.append(f"LoRA {adapter_label(adapters)}")
        parts.append(controller.session.fmt.id if controller.session is not None else "?")
    if controller.session is not None and controller.session.user:
        parts.append(f"you: {controller.session.user}")
    if controller.last_stats:
        parts.append(controller.last_stats)
    elif controller.engine is not None:
        parts.append(f"ctx {controller.engine.n_ctx}")
    if controller.session is not None and controller.background_note:
        parts.append(controller.background_note)
    return " · ".join(parts)


def figures(reply: Reply, engine: Engine | None) -> str:
    """A finished reply's figures: context used, time to first token, speed, why it ended."""
    stats = reply.stats
    first = f"{stats.first_token_s:.2f}s" if stats.first_token_s is not None else "-"
    used = stats.prompt_tokens + stats.completion_tokens
    n_ctx = engine.n_ctx if engine is not None else "?"
    return (
        f"ctx {used}/{n_ctx} · first {first} · {stats.tokens_per_s:.1f} tok/s · "
        f"{stats.finish_reason}"
    )
