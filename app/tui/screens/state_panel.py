"""The NPC's state variables and trust in this chat, shown and edited (F7).

Takes the chat's `StateEntry` list; Ctrl+S checks every changed value by its type and range
(one notification naming the first bad one, the panel stays open) and returns the changes as
{key: text} for the session to set; Esc returns None.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Switch

from app.errors import LoreweaverError
from app.memory.chat_state import StateEntry, parse_value


def _range(entry: StateEntry) -> str:
    if entry.low is None and entry.high is None:
        return entry.type
    low = "" if entry.low is None else f"{entry.low:g}"
    high = "" if entry.high is None else f"{entry.high:g}"
    return f"{entry.type} {low}…{high}"


class StatePanel(ModalScreen[dict[str, str] | None]):
    DEFAULT_CSS = """
    StatePanel .field { height: auto; margin: 0 0 1 0; }
    StatePanel .name { width: 1fr; }
    StatePanel .kind { width: 13; color: $text-muted; }
    StatePanel Input { width: 14; }
    StatePanel #state-rows { height: auto; max-height: 20; }
    StatePanel .hint { width: 100%; }
    """
    BINDINGS = [
        Binding("ctrl+s", "save", "Save"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, entries: list[StateEntry]) -> None:
        super().__init__()
        self.entries = entries

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("State and trust in this chat — Ctrl+S saves, Esc cancels", classes="hint")
            if not self.entries:
                yield Label(
                    "This character's sheet declares no state variables or relationships.",
                    classes="hint",
                )
            with VerticalScroll(id="state-rows"):
                for index, entry in enumerate(self.entries):
                    with Horizontal(classes="field"):
                        yield Label(entry.label, classes="name")
                        yield Label(_range(entry), classes="kind")
                        if entry.type == "bool":
                            yield Switch(bool(entry.value), id=f"state-{index}")
                        else:
                            yield Input(
                                entry.shown(),
                                id=f"state-{index}",
                                compact=True,
                                tooltip=entry.description or None,
                            )

    def edited(self) -> dict[str, str]:
        """The changed values as text; raises LoreweaverError naming the first bad one."""
        changes: dict[str, str] = {}
        for index, entry in enumerate(self.entries):
            widget = self.query_one(f"#state-{index}")
            if isinstance(widget, Switch):
                raw = str(widget.value).lower()
            else:
                raw = self.query_one(f"#state-{index}", Input).value
            if parse_value(entry, raw) != entry.value:
                changes[entry.key] = raw
        return changes

    def action_save(self) -> None:
        try:
            changes = self.edited()
        except LoreweaverError as exc:
            self.notify(str(exc), severity="error", timeout=8)
            return
        self.dismiss(changes)

    def action_cancel(self) -> None:
        self.dismiss(None)
