"""The command palette's entries: every action of the app, by name."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from textual.app import SystemCommand
from textual.screen import Screen

if TYPE_CHECKING:
    from app.tui.app import LoreweaverApp


def app_commands(app: LoreweaverApp, screen: Screen[object]) -> Iterator[SystemCommand]:
    """The library and the editor only from the chat screen: over an editor they would bury it."""
    yield SystemCommand("Help", "The keys of this screen", app.action_help)
    if screen is app.screen_stack[0]:
        yield SystemCommand(
            "Library", "Browse, import and manage characters", app.action_library
        )
        yield SystemCommand(
            "Edit character", "Every field and the lorebook of the current character",
            app.action_edit_character,
        )
    yield SystemCommand(
        "Regenerate", "A new reply, kept as another swipe", app.action_regenerate
    )
    yield SystemCommand("Continue", "More of the last reply", app.action_continue_reply)
    yield SystemCommand("Swipe left", "The previous alternative", lambda: app.action_swipe(-1))
    yield SystemCommand("Swipe right", "The next alternative", lambda: app.action_swipe(1))
    yield SystemCommand("Impersonate", "Draft your next line", app.action_impersonate)
    yield SystemCommand("Stop", "Stop the reply being written", app.action_stop)
    yield SystemCommand("Edit last message", "Rewrite it", lambda: app.act_on(-1, "edit"))
    yield SystemCommand(
        "Delete last message", "And everything after it", lambda: app.act_on(-1, "delete")
    )
    yield SystemCommand(
        "Branch from last message",
        "A new chat up to here",
        lambda: app.act_on(-1, "branch"),
    )
    yield SystemCommand("New chat", "With the current character", app.action_new_chat)
    yield SystemCommand("Persona", "Who you are in this chat", app.action_persona)
    yield SystemCommand("Context", "What the prompt is made of", app.action_context)
    yield SystemCommand(
        "Model and sampling", "Model, format, sampler", app.action_model_settings
    )
