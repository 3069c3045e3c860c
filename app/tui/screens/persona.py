"""Who the user is (F3): pick a saved persona or type one, and keep it as a saved persona,
the default, or the one for this character.

Takes the saved `Personas` and the chat's current name and description; Ctrl+S dismisses with
a `PersonaChoice` (the persona for this chat, and the saved personas as edited here, which the
app writes back), Esc with None. Nothing is saved before Ctrl+S.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Input, Label, ListItem, ListView, TextArea

from app.errors import LoreweaverError
from app.personas import Personas, add_persona, remove_persona, with_default


@dataclass(frozen=True)
class PersonaChoice:
    name: str
    description: str
    personas: Personas
    """The saved personas after this dialog (equal to what it was given when unchanged)."""


class PersonaScreen(ModalScreen[PersonaChoice | None]):
    DEFAULT_CSS = """
    PersonaScreen #persona-list { height: auto; max-height: 8; margin: 0 0 1 0; }
    PersonaScreen .options { height: auto; }
    PersonaScreen .hint { width: 100%; }
    """
    BINDINGS = [
        Binding("ctrl+s", "save", "Use"),
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+d", "forget", "Forget saved"),
    ]

    def __init__(self, personas: Personas, name: str, description: str, character: str) -> None:
        super().__init__()
        self.personas = personas
        self.persona_name = name
        self.description = description
        self.character = character

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(
                "Your persona — Enter on a saved one picks it · Ctrl+S uses it in this "
                "chat · Ctrl+D forgets the highlighted one · Esc cancels",
                classes="hint",
            )
            yield ListView(id="persona-list")
            yield Input(self.persona_name, placeholder="your name", id="persona-name")
            yield TextArea(self.description, id="persona-description", soft_wrap=True)
            with Horizontal(classes="options"):
                yield Checkbox("save it", id="persona-keep")
                yield Checkbox("default", id="persona-default")
                yield Checkbox(f"for {self.character}", id="persona-lock")

    def on_mount(self) -> None:
        self._fill()
        # inline: the app's stylesheet gives every dialog's TextArea 12 rows, too tall at 24
        self.query_one("#persona-description", TextArea).styles.height = 5
        self.query_one("#persona-name", Input).focus()

    def _fill(self) -> None:
        listing = self.query_one("#persona-list", ListView)
        listing.clear()
        for index, persona in enumerate(self.personas.personas):
            mark = "* " if persona.name == self.personas.default else "  "
            lock = f" [for {persona.character}]" if persona.character else ""
            listing.append(
                ListItem(Label(f"{mark}{persona.name}{lock}", markup=False), name=str(index))
            )
        listing.display = bool(self.personas.personas)
        listing.index = 0 if self.personas.personas else None

    @on(ListView.Selected, "#persona-list")
    def _picked(self, event: ListView.Selected) -> None:
        persona = self.personas.personas[int(event.item.name or 0)]
        self.query_one("#persona-name", Input).value = persona.name
        self.query_one("#persona-description", TextArea).text = persona.description
        self.query_one("#persona-default", Checkbox).value = persona.name == self.personas.default
        self.query_one("#persona-lock", Checkbox).value = persona.character == self.character
        self.query_one("#persona-name", Input).focus()

    def action_forget(self) -> None:
        listing = self.query_one("#persona-list", ListView)
        item = listing.highlighted_child
        if item is None or not self.personas.personas:
            return
        gone = self.personas.personas[int(item.name or 0)]
        self.personas = remove_persona(self.personas, gone.name)
        self._fill()
        self.notify(f"{gone.name} will be forgotten when you press Ctrl+S.")

    def edited(self) -> PersonaChoice:
        """The choice as the form shows it; raises LoreweaverError for a bad persona."""
        name = " ".join(self.query_one("#persona-name", Input).value.split())
        if not name:
            raise LoreweaverError("a persona needs a name")
        description = self.query_one("#persona-description", TextArea).text.strip()
        personas = self.personas
        default = self.query_one("#persona-default", Checkbox).value
        lock = self.query_one("#persona-lock", Checkbox).value
        if self.query_one("#persona-keep", Checkbox).value or default or lock:
            personas = add_persona(
                personas, name, description, character=self.character if lock else None
            )
            if default:
                personas = with_default(personas, name)
        return PersonaChoice(name, description, personas)

    @on(Input.Submitted, "#persona-name")
    def action_save(self) -> None:
        try:
            choice = self.edited()
        except LoreweaverError as exc:
            self.notify(str(exc), severity="warning")
            return
        self.dismiss(choice)

    def action_cancel(self) -> None:
        self.dismiss(None)
