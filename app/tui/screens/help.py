"""The help screen: the keys of the screen it was opened from, and where everything else lives.

The rows are read from the live bindings (the screen's and the app's), not written by hand, so
help never disagrees with the footer. Widget-level keys (cursor moves in an Input) are left out.
"""

from __future__ import annotations

from typing import Any

from rich.table import Table
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Label, Static

TIPS = (
    "Ctrl+P opens the command palette: every action is there, searchable by name.",
    "Theme: pick one with Ctrl+P → Theme; the choice is saved in your settings.",
    "The mouse works too: click cards, chats and buttons; scroll lists with the wheel.",
)


def key_rows(screen: Screen[Any]) -> list[tuple[str, str]]:
    """(keys, description) for each screen and app action, keys of one action joined; then the
    keys of the widgets a screen names in `HELP_GROUPS` ({what: widget class}), such as a
    focused message's, described as "… (on a message)"."""
    app: App[Any] = screen.app
    rows: dict[tuple[object, str], tuple[list[str], str]] = {}

    def add(node: object, binding: Binding, description: str) -> None:
        keys, _ = rows.setdefault((node, binding.action), ([], description))
        shown = app.get_key_display(binding)
        if shown not in keys:
            keys.append(shown)

    for active in screen.active_bindings.values():
        binding: Binding = active.binding
        if isinstance(active.node, Screen | App) and binding.description:
            add(id(active.node), binding, binding.description)
    for what, widget in getattr(screen, "HELP_GROUPS", {}).items():
        for binding in widget.BINDINGS:
            if isinstance(binding, Binding) and binding.description:
                add(widget, binding, f"{binding.description} (on a {what})")
    return [(" / ".join(keys), description) for keys, description in rows.values()]


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,f1,q,question_mark", "close", "Close", show=False)]

    def __init__(self, title: str, rows: list[tuple[str, str]]) -> None:
        super().__init__()
        self.heading = title
        self.rows = rows

    @classmethod
    def for_screen(cls, screen: Screen[Any]) -> HelpScreen:
        title = screen.title or screen.app.title
        return cls(f"Keys — {title}", key_rows(screen))

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=False, padding=(0, 2, 0, 0), expand=True)
        table.add_column("keys", style="bold", no_wrap=True)
        table.add_column("action", ratio=1)
        for keys, description in self.rows:
            table.add_row(keys, description)
        with Vertical(classes="dialog help"):
            yield Label(self.heading, classes="dialog-title")
            with VerticalScroll(id="help-body"):
                yield Static(table, id="help-keys")
                yield Static("\n".join(f"• {tip}" for tip in TIPS), id="help-tips")
            yield Label("Esc, F1 or q closes", classes="dialog-hint")

    def action_close(self) -> None:
        self.dismiss(None)
