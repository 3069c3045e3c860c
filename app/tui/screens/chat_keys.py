"""The chat screen's keys: what each does, which the footer shows, and their tooltips (Help and
the command palette list them all). A focused message's own keys are `ChatMessage`'s."""

from __future__ import annotations

from textual.binding import Binding, BindingType

CHAT_KEYS: list[BindingType] = [
    # The footer shows a few, and with a focused message's keys must fit 80 columns; F1 (Help)
    # lists every key, and Ctrl+P finds every action by name.
    Binding("ctrl+o", "app.library", "Library", tooltip="Browse, import and manage characters"),
    Binding("f5", "app.edit_character", "Edit", tooltip="Every field and the lorebook"),
    Binding("escape", "stop", "Stop", tooltip="Stop the reply being written"),
    Binding("ctrl+r", "regenerate", "Regenerate", tooltip="A new reply, kept as another swipe"),
    Binding("ctrl+t", "continue_reply", "Continue", show=False, tooltip="More of the last reply"),
    Binding(
        "ctrl+y",
        "impersonate",
        "Impersonate",
        show=False,
        tooltip="Impersonate: draft your next line",
    ),
    Binding("f4", "context", "Context", show=False, tooltip="What the prompt is made of"),
    Binding("f2", "app.model_settings", "Model", show=False, tooltip="Model, format, sampler"),
    Binding("f3", "persona", "Persona", show=False, tooltip="Who you are in this chat"),
    Binding("f6", "authors_note", "Author's note", show=False, tooltip="Steer this chat"),
    Binding("f7", "state_panel", "State", show=False, tooltip="The NPC's state and trust"),
    Binding("f8", "chats", "Chats", show=False, tooltip="Open, rename, search, export chats"),
    Binding("f9", "barks", "Barks", show=False, tooltip="Short lines per situation"),
    Binding("ctrl+b", "bookmark", "Bookmark", show=False, tooltip="Name this point"),
    Binding("ctrl+n", "new_chat", "New chat", show=False, tooltip="With this character"),
    Binding("ctrl+z", "undo", "Undo delete", show=False, tooltip="Bring back what was deleted"),
    # Priority: the message box would take them as word moves (they are, while it has text).
    Binding(
        "ctrl+left",
        "swipe(-1)",
        "◀ Swipe",
        priority=True,
        show=False,
        tooltip="The previous alternative of the last reply",
    ),
    Binding(
        "ctrl+right",
        "swipe(1)",
        "Swipe ▶",
        priority=True,
        show=False,
        tooltip="The next alternative (past the last: a new one)",
    ),
    Binding("pageup", "scroll(-1)", "Scroll up", priority=True, show=False),
    Binding("pagedown", "scroll(1)", "Scroll down", priority=True, show=False),
]
