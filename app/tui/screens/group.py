"""The group scene screen: pick a cast (2–8 characters), then play the scene. The speaker of the
next turn is shown before each reply and can be changed; Ctrl+T lets the NPCs talk a turn.

The scene itself is `app.group.GroupScene`; a reply runs in a thread worker and streams into the
log (`LiveReply`) as frame-sized batches posted as messages, so the UI never waits on the model.
The keys are the one-to-one chat's: Esc stops a reply (and leaves when none runs), Ctrl+R
retakes the last NPC line, Ctrl+←/→ swipe it (past the last: a new take), and a focused line
(Shift+Tab) has Enter for its actions (edit, delete, branch, swipes), Delete, ←/→.
"""

from __future__ import annotations

from collections.abc import Callable

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Label, Select, SelectionList

from app.engine.base import Engine
from app.errors import LoreweaverError
from app.group import GroupScene, Member, give_adapters, load_cast
from app.group.scene import SceneReply
from app.home import Home
from app.memory.store import ChatStore
from app.models import ModelInfo
from app.npc.state import NPC_META
from app.npc.structured import annotation_text
from app.prompts.formats import choose_format
from app.session_start import sampling_from
from app.settings import Settings
from app.sheets import library
from app.text import safe_line
from app.tui.chat_events import Shown
from app.tui.streaming import FRAME_S, settle_memory
from app.tui.widgets.chat_log import ChatLog, ChatMessage
from app.tui.widgets.live_reply import LiveReply

AUTO = "auto"
"""The speaker choice meaning "by the turn order"."""


class LineStarted(Message):
    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name


class LineProgress(Message):
    def __init__(self, evaluated: int, total: int) -> None:
        super().__init__()
        self.evaluated, self.total = evaluated, total


class LineChunk(Message):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


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
        Binding("escape", "stop", "Stop / Back", tooltip="Stop the reply; with none, leave"),
        Binding("ctrl+t", "talk", "Let them talk", tooltip="One NPC-to-NPC turn"),
        Binding("ctrl+r", "regenerate", "Regenerate", tooltip="Another take of the last line"),
        Binding(
            "ctrl+left",
            "swipe(-1)",
            "◀ Swipe",
            priority=True,
            show=False,
            tooltip="The previous alternative of the last line",
        ),
        Binding(
            "ctrl+right",
            "swipe(1)",
            "Swipe ▶",
            priority=True,
            show=False,
            tooltip="The next alternative (past the last: a new one)",
        ),
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
        self.reply: SceneReply | None = None
        self._stop_asked = False
        self.streaming: LiveReply | None = None

    def compose(self) -> ComposeResult:
        entries = library.entries(self.where)
        with Vertical(id="group-pick"):
            yield Label("Pick 2–8 characters for the scene")
            yield SelectionList[str](*[(e.id, e.id) for e in entries], id="cast")
            yield Input(placeholder="The scene: where, what is happening", id="scene-text")
            yield Button("Start the scene", id="start", variant="primary")
            yield Label("", id="pick-error")
        with Vertical(id="group-play"):
            yield ChatLog(id="scene-log")
            with Horizontal(id="speaker-row"):
                yield Label("Next speaker:")
                yield Select[str](
                    [("by turn order", AUTO)], id="speaker", allow_blank=False, value=AUTO
                )
                yield Label("", id="chosen")
            yield Input(placeholder="Say something (Enter; Esc stops a reply)", id="scene-say")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#group-play").display = False

    @property
    def log_view(self) -> ChatLog:
        return self.query_one("#scene-log", ChatLog)

    @on(Button.Pressed, "#start")
    def start(self) -> None:
        engine, model = self.engine()
        ids = list(self.query_one("#cast", SelectionList).selected)
        try:
            if engine is None or model is None:
                raise LoreweaverError("the model is still loading")
            cast = load_cast(self.where, ids)
            give_adapters(cast, model, self.settings, self.where)
            self.scene = GroupScene(
                cast,
                choose_format(self.settings.template, model),
                engine,
                user=self.settings.user_name,
                description=self.query_one("#scene-text", Input).value,
                store=self.store,
                cache_dir=self.where.root / "kv-cache",
            )
            self.scene.greet()
        except LoreweaverError as exc:
            self.query_one("#pick-error", Label).update(safe_line(str(exc)))
            return
        speaker = self.query_one("#speaker", Select)
        speaker.set_options([("by turn order", AUTO), *[(m.name, m.id) for m in cast]])
        speaker.value = AUTO
        self.query_one("#group-pick").display = False
        self.query_one("#group-play").display = True
        self.query_one("#scene-say", Input).focus()
        self.refresh_log()

    # -- what is shown --------------------------------------------------------------------

    def shown(self) -> list[Shown]:
        """The scene's lines as log blocks: each NPC line with its swipe counter and a
        structured line's annotation."""
        scene = self.scene
        if scene is None:
            return []
        out = []
        for line in scene.lines:
            swipe = None
            if self.store is not None and line.id is not None:
                siblings = [m.id for m in self.store.swipes(line.id)]
                swipe = (siblings.index(line.id) + 1, len(siblings))
            note = line.meta.get(NPC_META)
            shown_note = annotation_text(note) if isinstance(note, dict) else ""
            out.append(Shown(line.id, line.name, line.text, not line.speaker, swipe, shown_note))
        return out

    def refresh_log(self) -> None:
        self.log_view.show(self.shown())
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

    # -- turns ----------------------------------------------------------------------------

    def _attempt(self, action: Callable[[], object]) -> bool:
        """Run a scene action unless a reply is streaming; a refusal or error is a notice."""
        if self.scene is None:
            return False
        if self.busy:
            self.notify("A reply is being written: Esc stops it.", severity="warning")
            return False
        try:
            action()
        except LoreweaverError as exc:
            self.notify(safe_line(str(exc)), severity="error")
            return False
        return True

    @on(Input.Submitted, "#scene-say")
    def said(self, event: Input.Submitted) -> None:
        scene = self.scene
        if scene is None or not event.value.strip():
            return
        if self._attempt(lambda: scene.say(event.value)):
            event.input.value = ""
            self.refresh_log()
            self._answer(scene)

    def action_talk(self) -> None:
        scene = self.scene
        if scene is not None and self._attempt(lambda: None):
            self._answer(scene)

    def _answer(self, scene: GroupScene) -> None:
        """The next line, by the speaker chosen now (read here: widgets belong to this thread)."""
        chosen = self._chosen()
        self._run(lambda sampling: scene.reply(chosen, sampling))

    def action_regenerate(self) -> None:
        scene = self.scene
        if scene is not None and self._attempt(lambda: None):
            self._run(scene.regenerate)

    def action_stop(self) -> None:
        """Esc: stop the reply being written; with none, back to the chat."""
        if self.busy:
            self._stop_asked = True
            if self.reply is not None:
                self.reply.cancel()
        else:
            if self.scene is not None:  # the speakers' KV lines, saved off the UI thread
                self.app.run_worker(self.scene.close, thread=True, group="scene-close")
            self.app.pop_screen()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Ctrl+←/→ swipe, except while typing a line: then they move the cursor by words."""
        box = self.query_one("#scene-say", Input)
        return not (action == "swipe" and self.focused is box and box.value)

    def action_swipe(self, step: int) -> None:
        self.act_on(-1, "swipe", step)

    def _run(self, start: Callable[..., SceneReply]) -> None:
        self.busy, self._stop_asked = True, False
        self._stream(start)

    @work(thread=True, exclusive=True, group="scene")
    def _stream(self, start: Callable[..., SceneReply]) -> None:
        """Start the reply, then forward it in frame-sized batches (one UI update a frame)."""
        sampling = sampling_from(self.settings, seed=None, max_tokens=None)
        try:
            reply = start(sampling)
        except LoreweaverError as exc:
            self.post_message(TurnFailed(str(exc)))
            return
        self.reply = reply
        if self._stop_asked:
            reply.cancel()
        self.post_message(LineStarted(reply.member.name))
        try:
            for evaluated, total in reply.prompt_progress(FRAME_S):
                self.post_message(LineProgress(evaluated, total))
            for text in reply.frames(FRAME_S):
                self.post_message(LineChunk(text))
            line = reply.finish()
        except LoreweaverError as exc:
            self.post_message(TurnFailed(str(exc)))
            return
        finally:
            self.reply = None
        self.post_message(LineDone(line.name, line.text))

    def on_line_started(self, message: LineStarted) -> None:
        self.log_view.show(self.shown())
        self.streaming = self.log_view.add_live(message.name, "")

    def on_line_progress(self, message: LineProgress) -> None:
        if self.streaming is not None:
            self.streaming.show_progress(message.evaluated, message.total)

    def on_line_chunk(self, message: LineChunk) -> None:
        if self.streaming is not None:
            self.streaming.append(message.text)

    def on_line_done(self, message: LineDone) -> None:
        self._ended()
        self.query_one("#speaker", Select).value = AUTO  # a choice holds for one turn

    def on_turn_failed(self, message: TurnFailed) -> None:
        self._ended()
        self.notify(safe_line(message.error), severity="error")

    def _ended(self) -> None:
        self.busy, self.streaming = False, None
        self.refresh_log()
        self.call_after_refresh(settle_memory)

    # -- one line -------------------------------------------------------------------------

    def on_key(self, event: events.Key) -> None:
        """A letter typed while a line has focus goes to the message box (as in the chat)."""
        box = self.query_one("#scene-say", Input)
        if (
            self.scene is not None
            and isinstance(self.focused, ChatMessage)
            and event.is_printable
            and event.character
        ):
            event.stop()
            event.prevent_default()
            box.focus()
            box.insert_text_at_cursor(event.character)

    @on(ChatMessage.Action)
    def _message_action(self, event: ChatMessage.Action) -> None:
        index = self.log_view.index_of(event.block)
        if event.action != "actions":
            self.act_on(index, event.action, event.step)
            return
        from app.tui.screens.message_actions import MessageActions

        def chosen(action: str | None) -> None:
            if action in ("swipe_left", "swipe_right"):
                self.act_on(index, "swipe", -1 if action == "swipe_left" else 1)
            elif action is not None:
                self.act_on(index, action)

        self.app.push_screen(MessageActions(event.block.shown.speaker), chosen)

    def act_on(self, index: int, action: str, step: int = 0) -> None:
        """`action` (swipe, edit, delete, branch) on line `index` (negative: from the end), with
        the one-to-one chat's meaning; edit and delete ask first."""
        scene = self.scene
        if scene is None or not scene.lines or not self._attempt(lambda: None):
            return
        line = scene.lines[index]
        if action == "edit":
            from app.tui.screens.edit_message import EditMessageScreen

            def edited(text: str | None) -> None:
                if text is not None:
                    self._attempt(lambda: scene.edit(index, text))
                self.refresh_log()

            self.app.push_screen(EditMessageScreen(line.name, line.text), edited)
        elif action == "delete":
            from app.tui.screens.confirm import ConfirmDialog

            def answered(yes: bool | None) -> None:
                if yes:
                    self._attempt(lambda: scene.delete(index))
                self.refresh_log()

            after = len(scene.lines) - (index % len(scene.lines)) - 1
            what = f"{line.name}'s line" + (f" and the {after} after it" if after else "")
            self.app.push_screen(ConfirmDialog(f"Delete {what}?", yes="Delete"), answered)
        elif action == "branch":
            if self._attempt(lambda: scene.branch(index)):
                self.notify("Branched into a new scene.")
            self.refresh_log()
        elif action == "swipe":
            last_npc = index % len(scene.lines) == len(scene.lines) - 1 and line.speaker
            try:
                scene.swipe(step, index)
            except LoreweaverError as exc:
                if step > 0 and last_npc:  # past the last take: a new one
                    self._run(scene.regenerate)
                    return
                self.notify(safe_line(str(exc)), severity="warning")
            self.refresh_log()
