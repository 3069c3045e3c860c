"""The question asked before unsaved edits would be lost: save them, discard them, or stay."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Label

Choice = Literal["save", "discard", "cancel"]


class UnsavedScreen(ModalScreen[Choice]):
    BINDINGS = [
        Binding("s", "choose('save')", "Save"),
        Binding("d", "choose('discard')", "Discard"),
        Binding("escape,c", "choose('cancel')", "Cancel"),
    ]

    def __init__(self, what: str) -> None:
        super().__init__()
        self.what = what

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="unsaved"):
            yield Label(f"{self.what} has unsaved changes.")
            with Horizontal(id="unsaved-buttons"):
                yield Button("Save", id="save", variant="primary")
                yield Button("Discard", id="discard", variant="error")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#save", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id in ("save", "discard", "cancel"):
            self.action_choose(event.button.id)

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice)  # type: ignore[arg-type]


def confirm_leave(
    screen: Screen[Any],
    what: str,
    *,
    dirty: bool,
    save: Callable[[], bool],
    then: Callable[[], object],
) -> None:
    """Run `then` now if nothing is unsaved; otherwise ask Save / Discard / Cancel first (a
    save that fails stays)."""
    if not dirty:
        then()
        return

    def chosen(choice: str | None) -> None:
        if choice == "discard" or (choice == "save" and save()):
            then()

    screen.app.push_screen(UnsavedScreen(what), chosen)
