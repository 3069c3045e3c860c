"""The Barks screen (F9): a character's short lines per situation — generate, keep, reject,
regenerate one.

The set lives in the home (`app.npc.bark_store`); every change is saved at once. Generating
runs in a thread worker that only posts a message; the screen then shows and saves the result.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Label, ListItem, ListView

from app.engine.base import Engine
from app.errors import LoreweaverError
from app.home import Home
from app.npc.bark_store import load_barks, merged, save_barks
from app.npc.barks import SEED_RANGE, Bark, BarkJob, check_trigger, generate_barks, replace_one
from app.text import safe_line
from app.tui.commands import ScreenActions

if TYPE_CHECKING:
    from app.tui.screens.chat import ChatScreen


class BarksMade(Message):
    """The worker's result: the character's whole new set, or why there is none."""

    def __init__(self, barks: list[Bark] | None, error: str = "") -> None:
        super().__init__()
        self.barks = barks
        self.error = error


def _item(bark: Bark) -> ListItem:
    mark = "✓ kept" if bark.status == "kept" else "new"
    text = f"{bark.trigger} · {bark.text}   ({mark}, seed {bark.seed})"
    return ListItem(Label(safe_line(text), markup=False))


class BarksScreen(Screen[None]):
    TITLE = "Barks"
    COMMANDS = {ScreenActions}
    DEFAULT_CSS = """
    BarksScreen #bark-form { height: auto; }
    BarksScreen #bark-form Input { width: 1fr; }
    BarksScreen #bark-form #bark-trigger { width: 3fr; }
    BarksScreen #bark-list { height: 1fr; }
    BarksScreen #bark-status { height: 1; color: $text-muted; }
    """
    BINDINGS = [
        Binding("ctrl+g", "generate", "Generate", tooltip="A new set for the trigger"),
        Binding("k", "keep", "Keep", tooltip="Keep the highlighted bark through regenerations"),
        Binding("x,delete", "reject", "Reject", tooltip="Remove the highlighted bark"),
        Binding("r", "regenerate", "Regenerate", tooltip="Replace the highlighted bark"),
        Binding("escape", "back", "Back", tooltip="Back to the chat"),
    ]

    def __init__(self, where: Home, character_id: str, job: BarkJob, engine: Engine) -> None:
        super().__init__()
        self.where = where
        self.character_id = character_id
        self.job = job
        self.engine = engine
        self.barks: list[Bark] = []
        self.busy = False
        self.sub_title = job.sheet.name

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="bark-form"):
            yield Input(self.job.trigger, placeholder="trigger or situation", id="bark-trigger")
            yield Input("5", placeholder="count", id="bark-count", type="integer")
            yield Input(str(self.job.max_chars), placeholder="max chars", id="bark-max")
            yield Input("", placeholder="seed (random)", id="bark-seed", type="integer")
        yield ListView(id="bark-list")
        yield Label("", id="bark-status", markup=False)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        try:
            self.show(load_barks(self.where, self.character_id))
        except LoreweaverError as exc:
            self.notify(str(exc), severity="error", timeout=8)
        self.query_one("#bark-list", ListView).focus()

    @property
    def listed(self) -> ListView:
        return self.query_one("#bark-list", ListView)

    def show(self, barks: list[Bark], status: str = "") -> None:
        self.barks = barks
        at = self.listed.index
        self.listed.clear()
        self.listed.extend(_item(b) for b in barks)
        if barks:
            self.listed.index = min(at or 0, len(barks) - 1)
        self.query_one("#bark-status", Label).update(
            status or f"{len(barks)} barks — Ctrl+G generates, k keeps, x rejects, r regenerates"
        )

    def _save(self, barks: list[Bark], status: str) -> None:
        try:
            save_barks(self.where, self.character_id, barks)
        except (LoreweaverError, OSError) as exc:
            self.notify(str(exc), severity="error", timeout=8)
            return
        self.show(barks, status)

    def _number(self, selector: str, low: int, high: int, what: str) -> int | None:
        raw = self.query_one(selector, Input).value.strip()
        if not raw:
            return None
        value = int(raw) if raw.lstrip("-").isdigit() else low - 1
        if not low <= value <= high:
            raise LoreweaverError(f"{what}: give {low}–{high}, got {raw}")
        return value

    def _run(self, work_fn: Callable[[], list[Bark]], status: str) -> None:
        if self.busy:
            self.notify("Still generating.", severity="warning")
            return
        self.busy = True
        self.query_one("#bark-status", Label).update(status)
        self._work(work_fn)

    @work(thread=True, exclusive=True, group="barks")
    def _work(self, work_fn: Callable[[], list[Bark]]) -> None:
        try:
            self.post_message(BarksMade(work_fn()))
        except LoreweaverError as exc:
            self.post_message(BarksMade(None, str(exc)))

    def on_barks_made(self, message: BarksMade) -> None:
        self.busy = False
        if message.barks is None:
            self.notify(message.error, severity="error", timeout=8)
            self.show(self.barks)
            return
        self._save(message.barks, f"{len(message.barks)} barks, saved")

    def action_generate(self) -> None:
        try:
            trigger = check_trigger(self.query_one("#bark-trigger", Input).value)
            count = self._number("#bark-count", 1, 200, "count") or 5
            max_chars = self._number("#bark-max", 8, 1000, "max chars") or self.job.max_chars
            seed = self._number("#bark-seed", 0, SEED_RANGE - 1, "seed")
        except LoreweaverError as exc:
            self.notify(str(exc), severity="error", timeout=8)
            return
        base = seed if seed is not None else secrets.randbelow(SEED_RANGE)
        job = dataclasses.replace(self.job, trigger=trigger, max_chars=max_chars)
        stored = list(self.barks)
        kept = [b for b in stored if b.trigger == trigger and b.status == "kept"]

        def make() -> list[Bark]:
            fresh = generate_barks(self.engine, job, count, base, keep=kept)
            return merged(stored, trigger, fresh)

        self._run(make, f"generating {count} barks for {trigger}…")

    def _highlighted(self) -> int | None:
        index = self.listed.index
        return index if index is not None and 0 <= index < len(self.barks) else None

    def action_keep(self) -> None:
        index = self._highlighted()
        if index is not None:
            barks = list(self.barks)
            barks[index] = barks[index].model_copy(update={"status": "kept"})
            self._save(barks, "kept")

    def action_reject(self) -> None:
        index = self._highlighted()
        if index is not None:
            self._save([b for i, b in enumerate(self.barks) if i != index], "rejected")

    def action_regenerate(self) -> None:
        index = self._highlighted()
        if index is None:
            return
        stored = list(self.barks)
        bark = stored[index]
        job = dataclasses.replace(self.job, max_chars=bark.max_chars)
        same = [i for i, b in enumerate(stored) if b.trigger == bark.trigger]

        def make() -> list[Bark]:
            group = replace_one(self.engine, job, [stored[i] for i in same], same.index(index))
            out = list(stored)
            for i, new in zip(same, group, strict=True):
                out[i] = new
            return out

        self._run(make, "regenerating one bark…")

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_generate()

    def action_back(self) -> None:
        if not self.busy:
            self.dismiss(None)
        else:
            self.notify("Still generating.", severity="warning")


def open_barks(screen: ChatScreen) -> None:
    """F9 on the chat: the Barks screen for the chat's character, on the loaded model."""
    from app.session_start import sampling_from

    session = screen.fetch(screen.chat.idle)
    character = screen.chat.character
    if session is None or character is None:
        return
    sampling = sampling_from(screen.chat.settings, seed=None, max_tokens=None)
    job = BarkJob(
        session.sheet,
        session.fmt,
        "greet",
        80,
        sampling,
        session.model_name or "",
        session.user,
        session.adapters,
    )
    screen.app.push_screen(BarksScreen(screen.chat.where, character, job, session.engine))
