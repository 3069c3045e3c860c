"""What can be done to one message (Enter on a focused message): a short list, filtered as you
type, so no action hangs on a single letter that might have been meant for the message box."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

ACTIONS = (
    ("edit", "Edit", "rewrite it (the old text is kept)"),
    ("delete", "Delete…", "it and what follows (asks first; Ctrl+Z undoes)"),
    ("branch", "Branch here", "a new chat up to this message"),
    ("swipe_left", "◀ Previous swipe", "the alternative before this one"),
    ("swipe_right", "Next swipe ▶", "the alternative after this one"),
)


class MessageActions(ModalScreen[str | None]):
    """Returns the chosen action's name (`edit`, `delete`, `branch`, `swipe_left`,
    `swipe_right`), or None (Esc)."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("down", "move(1)", show=False),
        Binding("up", "move(-1)", show=False),
    ]

    def __init__(self, speaker: str) -> None:
        super().__init__(id="message-actions")
        self.speaker = speaker

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog menu"):
            yield Label(f"{self.speaker}'s message", classes="dialog-title", markup=False)
            yield Input(placeholder="type to filter, Enter chooses", id="actions-filter")
            yield OptionList(*self._options(""), id="actions-list")
            yield Label("Esc closes", classes="dialog-hint")

    @staticmethod
    def _options(query: str) -> list[Option]:
        words = query.lower().split()
        return [
            Option(f"{title}  [dim]{hint}[/]", id=name)
            for name, title, hint in ACTIONS
            if all(word in f"{title} {hint}".lower() for word in words)
        ]

    def on_mount(self) -> None:
        self.query_one(OptionList).highlighted = 0

    @on(Input.Changed)
    def _filter(self, event: Input.Changed) -> None:
        options = self.query_one(OptionList)
        options.clear_options()
        options.add_options(self._options(event.value))
        options.highlighted = 0 if options.option_count else None

    @on(Input.Submitted)
    def _submitted(self) -> None:
        options = self.query_one(OptionList)
        if options.highlighted is not None:
            self.dismiss(options.get_option_at_index(options.highlighted).id)

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_move(self, step: int) -> None:
        options = self.query_one(OptionList)
        if options.option_count:
            current = options.highlighted or 0
            options.highlighted = (current + step) % options.option_count

    def action_cancel(self) -> None:
        self.dismiss(None)
