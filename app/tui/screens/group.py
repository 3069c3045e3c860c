"""The group scene screen: pick a cast (2–8 characters), then play the scene. The speaker of the
next turn is shown before each reply and can be changed; Ctrl+T lets the NPCs talk a turn.

The scene itself is `app.group.GroupScene`; replies run in a thread worker and reach the screen
as messages, so the UI never waits on the model.
"""

from __future__ import annotations

from collections.abc import Callable

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Label, RichLog, Select, SelectionList

from app.engine.base import Engine
from app.errors import LoreweaverError
from app.group import GroupScene, Member, load_cast
from app.home import Home
from app.memory.store import ChatStore
from app.models import ModelInfo
from app.prompts.formats import choose_format
from app.session_start import sampling_from
from app.settings import Settings
from app.sheets import library
from app.text import safe_line, safe_text

AUTO = "auto"
"""The speaker choice meaning "by the turn order"."""


class LineDone(Message):
    def __init__(self, name: str, text: str) -> None:
        super().__init__()
        self.name, self.text = name, text


class TurnFailed(Message):
    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


class GroupScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("ctrl+t", "talk", "Let them talk", tooltip="One NPC-to-NPC turn"),
    ]

    def __init__(
        self,
        where: Home,
        store: ChatStore | None,
        settings: Settings,
        engine: Callable[[], tuple[Engine | None, ModelInfo | None]],
    ) -> None:
        super().__init__()
        self.where, self.store, self.settings, self.engine = where, store, settings, engine
        self.scene: GroupScene | None = None
        self.busy = False

    def compose(self) -> ComposeResult:
        entries = library.entries(self.where)
        with Vertical(id="group-pick"):
            yield Label("Pick 2–8 characters for the scene")
            yield SelectionList[str](*[(e.id, e.id) for e in entries], id="cast")
            yield Input(placeholder="The scene: where, what is happening", id="scene-text")
            yield Button("Start the scene", id="start", variant="primary")
            yield Label("", id="pick-error")
        with Vertical(id="group-play"):
            yield RichLog(id="scene-log", wrap=True, markup=False)
            with Horizontal(id="speaker-row"):
                yield Label("Next speaker:")
                yield Select[str](
                    [("by turn order", AUTO)], id="speaker", allow_blank=False, value=AUTO
                )
                yield Label("", id="chosen")
            yield Input(placeholder="Say something (Enter)", id="scene-say")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#group-play").display = False

    @on(Button.Pressed, "#start")
    def start(self) -> None:
        engine, model = self.engine()
        ids = list(self.query_one("#cast", SelectionList).selected)
        try:
            if engine is None or model is None:
                raise LoreweaverError("the model is still loading")
            cast = load_cast(self.where, ids)
        except LoreweaverError as exc:
            self.query_one("#pick-error", Label).update(safe_line(str(exc)))
            return
        self.scene = GroupScene(
            cast,
            choose_format(self.settings.template, model),
            engine,
            user=self.settings.user_name,
            description=self.query_one("#scene-text", Input).value,
            store=self.store,
        )
        speaker = self.query_one("#speaker", Select)
        speaker.set_options([("by turn order", AUTO), *[(m.name, m.id) for m in cast]])
        speaker.value = AUTO
        self.query_one("#group-pick").display = False
        self.query_one("#group-play").display = True
        self.query_one("#scene-say", Input).focus()
        self._show_next()

    def _chosen(self) -> Member | None:
        assert self.scene is not None
        value = self.query_one("#speaker", Select).value
        return self.scene.member(str(value)) if value not in (AUTO, Select.BLANK) else None

    def _show_next(self) -> None:
        """Show who answers next: the player's choice, else the turn order's."""
        if self.scene is None:
            return
        member = self._chosen() or self.scene.next_speaker()
        self.query_one("#chosen", Label).update(f"→ {safe_line(member.name)}")

    @on(Select.Changed, "#speaker")
    def _speaker_changed(self) -> None:
        self._show_next()

    @on(Input.Submitted, "#scene-say")
    def said(self, event: Input.Submitted) -> None:
        if self.scene is None or self.busy or not event.value.strip():
            return
        line = self.scene.say(event.value)
        event.input.value = ""
        self.query_one("#scene-log", RichLog).write(safe_text(f"{line.name}: {line.text}"))
        self._turn()

    def action_talk(self) -> None:
        if self.scene is not None and not self.busy:
            self._turn()

    def _turn(self) -> None:
        assert self.scene is not None
        member = self._chosen() or self.scene.next_speaker()
        self.busy = True
        self._reply(member)

    @work(thread=True, exclusive=True, group="scene")
    def _reply(self, member: Member) -> None:
        assert self.scene is not None
        sampling = sampling_from(self.settings, seed=None, max_tokens=None)
        try:
            line = self.scene.reply(member, sampling).finish()
        except LoreweaverError as exc:
            self.post_message(TurnFailed(str(exc)))
            return
        self.post_message(LineDone(line.name, line.text))

    def on_line_done(self, message: LineDone) -> None:
        self.busy = False
        self.query_one("#scene-log", RichLog).write(safe_text(f"{message.name}: {message.text}"))
        self.query_one("#speaker", Select).value = AUTO  # a choice holds for one turn
        self._show_next()

    def on_turn_failed(self, message: TurnFailed) -> None:
        self.busy = False
        self.notify(safe_line(message.error), severity="error")
