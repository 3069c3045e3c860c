"""One box of a form: the label, the field's validation message and token count, the control.

The message sits on the label's line, so a problem is shown beside the field it is about.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, TextArea

CHECK_DELAY_S = 0.25
"""Forms validate (and count tokens) this long after the last keystroke."""


class FieldBox(Vertical):
    def __init__(
        self, label: str, control: Input | TextArea, *, field: str, counted: bool = True
    ) -> None:
        super().__init__(classes="field-box")
        self.label = label
        self.control = control
        self.field = field
        self.counted = counted
        self.error: str | None = None
        self.tokens = ""
        """What the token counter shows: `12 tok` (counted by the model) or `~12 tok` (a guess)."""

    def compose(self) -> ComposeResult:
        with Horizontal(classes="field-head"):
            yield Label(self.label, classes="field-label")
            yield Label("", classes="field-error", markup=False)
            yield Label("", classes="field-tokens")
        yield self.control

    @property
    def text(self) -> str:
        control = self.control
        return control.value if isinstance(control, Input) else control.text

    @text.setter
    def text(self, value: str) -> None:
        if isinstance(self.control, Input):
            self.control.value = value
        else:
            self.control.load_text(value)

    def show_error(self, message: str | None) -> None:
        self.error = message
        self.set_class(message is not None, "invalid")
        self.query_one(".field-error", Label).update(f"✗ {message}" if message else "")

    def show_tokens(self, count: int, exact: bool) -> None:
        if self.counted:
            self.tokens = f"{'' if exact else '~'}{count} tok"
            self.query_one(".field-tokens", Label).update(self.tokens)
