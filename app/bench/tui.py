"""`loreweaver bench --tui`: the terminal app, driven by Pilot, against the headless session.

Figures, each from this run:
- tokens/s of a reply streamed through the UI over the same reply generated headless (same
  character and world lorebook, so the same prompt, checked by its token count; greedy settings;
  one model), the user watching: the UI's cost on generation (target ≥ 0.95);
- the same while the user types at a fast typist's pace (`KEYS_PER_S`), and how long each key
  takes to reach the input box (target ≤ 100 ms);
- time to the first painted screen while the model is still loading (target < 1 s): the loader
  is held until the screen is up, so the figure cannot hide behind a fast load.

The three kinds of run take turns in rotating order, and each ratio is the median over runs of
the UI run against the headless run next to it: a drift of the machine (a shared host's load
comes and goes over seconds) then hits both sides of a ratio alike.
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.bench import BenchOptions
from app.bench.common import median
from app.engine.base import Engine, GenerationStats
from app.engine.llamacpp import LlamaEngine
from app.errors import LoreweaverError
from app.home import Home
from app.models import ModelInfo
from app.settings import SamplingSettings, Settings, save_settings

CHARACTER = "brenna"
LINE = "Tell me the whole story of the finest sword you ever forged, every step of it."
KEYS_PER_S = 10
"""Keys typed while a reply streams, in the typing runs (120 words a minute)."""
WAIT_S = 120.0
"""How long any step may take before the run gives up with an error (never a hang)."""


@dataclass
class TuiReport:
    model: str
    runs: int
    ui_tokens_per_s: float
    headless_tokens_per_s: float
    completion_tokens: int
    prompt_tokens: int = 0
    """Of the prompt both sides evaluated (the run stops if they ever differ)."""
    key_latency_ms: list[float] = field(default_factory=list)
    first_screen_s: float = 0.0
    model_loading_at_first_screen: bool = True
    watching_ratios: list[float] = field(default_factory=list)
    """UI (watching) over headless tokens/s of each run; the figure is their median."""
    typing_tokens_per_s: float = 0.0
    typing_ratios: list[float] = field(default_factory=list)
    """The same while typing."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "runs": self.runs,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "ui_tokens_per_s": round(self.ui_tokens_per_s, 2),
            "headless_tokens_per_s": round(self.headless_tokens_per_s, 2),
            "tokens_per_s_ratio": round(median(self.watching_ratios), 3),
            "tokens_per_s_ratio_range": _range(self.watching_ratios),
            "typing_tokens_per_s": round(self.typing_tokens_per_s, 2),
            "typing_tokens_per_s_ratio": round(median(self.typing_ratios), 3),
            "typing_tokens_per_s_ratio_range": _range(self.typing_ratios),
            "key_presses": len(self.key_latency_ms),
            "key_latency_ms_median": round(median(self.key_latency_ms), 1),
            "key_latency_ms_max": round(max(self.key_latency_ms, default=0.0), 1),
            "first_screen_s": round(self.first_screen_s, 3),
            "model_loading_at_first_screen": self.model_loading_at_first_screen,
        }

    def render(self) -> Any:
        from rich.table import Table

        figures = self.as_dict()
        table = Table(
            title=f"TUI responsiveness — {self.model}, {self.runs} runs, "
            f"{self.prompt_tokens}-token prompt, {self.completion_tokens} tokens each",
            title_justify="left",
        )
        table.add_column("figure")
        table.add_column("value", justify="right")
        table.add_column("target")
        table.add_row(
            "tokens/s through the UI / headless, watching (median of paired runs)",
            f"{figures['tokens_per_s_ratio']} (runs "
            f"{_span(figures['tokens_per_s_ratio_range'])}; tokens/s {figures['ui_tokens_per_s']}"
            f" vs {figures['headless_tokens_per_s']})",
            "≥ 0.95",
        )
        table.add_row(
            f"the same, typing {KEYS_PER_S} keys/s",
            f"{figures['typing_tokens_per_s_ratio']} (runs "
            f"{_span(figures['typing_tokens_per_s_ratio_range'])}; tokens/s "
            f"{figures['typing_tokens_per_s']})",
            "",
        )
        table.add_row(
            "key press while streaming (median / max)",
            f"{figures['key_latency_ms_median']} / {figures['key_latency_ms_max']} ms",
            "≤ 100 ms",
        )
        table.add_row(
            "first screen, model still loading",
            f"{figures['first_screen_s']} s"
            + (" (model still loading)" if self.model_loading_at_first_screen else ""),
            "< 1 s",
        )
        return table


def _range(ratios: list[float]) -> list[float]:
    return [round(min(ratios), 3), round(max(ratios), 3)] if ratios else []


def _span(bounds: list[float]) -> str:
    return f"{bounds[0]}–{bounds[1]}" if bounds else "-"


def _settings(info: ModelInfo, options: BenchOptions) -> Settings:
    base = Settings(
        model=None if info.source == "bundled" else str(info.path),
        sampling=SamplingSettings(temperature=0.0, top_k=1, seed=0, max_tokens=options.max_tokens),
    )
    if options.n_threads is not None:
        base.n_threads = options.n_threads
    return base


def _headless(engine: Engine, info: ModelInfo, settings: Settings, home: Home) -> GenerationStats:
    from app.memory.store import ChatStore
    from app.prompts.formats import choose_format
    from app.session_start import sampling_from, start_session
    from app.sheets import library

    _, sheet = library.load(home, CHARACTER)
    with ChatStore.open(home) as store:
        session = start_session(
            engine,
            info,
            choose_format(settings.template, info),
            sheet,
            CHARACTER,
            settings,
            store=store,
            home=home,  # the sheet's world lorebooks, as the app finds them
            summaries=False,
        )
        try:
            reply = session.send(LINE, sampling_from(settings, seed=None, max_tokens=None))
            for _ in reply:
                pass
            reply.finish()
        finally:
            session.close()
        return reply.stats


class _Borrowed:
    """The bench's engine, lent to one app run: the app closes what it loaded, the bench keeps
    this one for the next run."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)

    def close(self) -> None:
        pass


async def _through_ui(
    home: Home, engine: LlamaEngine, report: TuiReport, *, first: bool, typing: bool
) -> GenerationStats:
    """One reply through the app, which the bench watches only through its public surface: the
    chat events it posts (`ChatEvent`), the message box's `Changed`, and `open_character`."""
    from textual import events
    from textual.widgets import TextArea

    from app.tui.app import LoreweaverApp
    from app.tui.chat_events import ChatOpened, ReplyChunk, ReplyDone
    from app.tui.screens.chat import ChatEvent
    from app.tui.widgets.composer import Composer

    gate = threading.Event()
    painted: list[float] = []
    opened: list[ChatOpened] = []
    started: list[bool] = []
    done: list[GenerationStats] = []
    changed: list[float] = []
    """When the message box took each key, stamped by the app itself (no polling)."""
    finished = asyncio.Event()

    def loader(info: ModelInfo, settings: Settings) -> Engine:
        gate.wait(timeout=30)  # held until the first screen is painted
        return _Borrowed(engine)

    class MeasuredApp(LoreweaverApp):
        # Textual calls the handler of each class up the MRO: these add to the app's own.
        def on_mount(self) -> None:
            self.call_after_refresh(lambda: painted.append(time.perf_counter()))

        def on_chat_event(self, message: ChatEvent) -> None:
            event = message.event
            if isinstance(event, ChatOpened):
                opened.append(event)
            elif isinstance(event, ReplyChunk):
                started.append(True)
            elif isinstance(event, ReplyDone):
                done.append(event.stats)
                finished.set()

        def on_text_area_changed(self, message: TextArea.Changed) -> None:
            changed.append(time.perf_counter())

    async def until(condition: Callable[[], bool], what: str, step: float = 0.005) -> None:
        deadline = time.perf_counter() + WAIT_S
        while not condition():
            if not app.is_running:
                raise LoreweaverError(f"bench --tui: the app stopped before {what}")
            if time.perf_counter() > deadline:
                raise LoreweaverError(f"bench --tui: {what} did not happen within {WAIT_S:.0f} s")
            await asyncio.sleep(step)

    app = MeasuredApp(home, loader=loader)
    begun = time.perf_counter()
    async with app.run_test(size=(120, 40)):
        await until(lambda: bool(painted), "the first screen")
        if first:
            report.first_screen_s = painted[0] - begun
            report.model_loading_at_first_screen = app.engine is None
        gate.set()
        await until(lambda: bool(opened), "the chat opening")
        opened.clear()
        app.open_character(CHARACTER, new=True)  # the same fresh chat the headless side has
        await until(lambda: any(e.character == CHARACTER for e in opened), "the new chat opening")
        box = app.query_one("#say", Composer)
        box.focus()
        box.text = LINE
        # Posted as the terminal driver posts it: Pilot's `press` waits for the app to go idle,
        # which it does not while the reply streams, so a short reply would end before typing.
        app.post_message(events.Key("enter", None))
        await until(lambda: bool(done or started), "the reply starting", step=0.02)
        if not typing:  # nothing of the bench's own wakes the app until the reply ends
            try:
                await asyncio.wait_for(finished.wait(), WAIT_S)
            except TimeoutError:
                raise LoreweaverError(
                    f"bench --tui: the reply did not end within {WAIT_S:.0f} s"
                ) from None
            return done[0]
        pressed: list[float] = []
        changed.clear()
        keys = [("x", "x"), ("backspace", None)]
        while not done:
            # Keys are posted the way the terminal driver posts them, and their effect is stamped
            # by the app: Pilot's `press` would wait for the app to go idle (never, while a reply
            # streams) and polling would take CPU from the model being measured.
            key, character = keys[len(pressed) % 2]
            pressed.append(time.perf_counter())
            app.post_message(events.Key(key, character))
            await asyncio.sleep(1 / KEYS_PER_S)
        await until(lambda: len(changed) >= len(pressed), "the last key press being handled")
        report.key_latency_ms += [(c - p) * 1000 for p, c in zip(pressed, changed, strict=True)]
    return done[0]


SIDES = ["headless", "watching", "typing"]


def _same_prompt(report: TuiReport, stats: GenerationStats) -> None:
    """Both sides must evaluate one prompt: a longer one makes every token slower (attention
    reads the whole context), which would be charged to the UI or credited to it."""
    if not report.prompt_tokens:
        report.prompt_tokens = stats.prompt_tokens
    elif stats.prompt_tokens != report.prompt_tokens:
        raise LoreweaverError(
            f"bench --tui: the UI and headless prompts differ ({report.prompt_tokens} vs "
            f"{stats.prompt_tokens} tokens), so their tokens/s cannot be compared"
        )


def _ratios(ui: list[float], headless: list[float]) -> list[float]:
    return [u / h for u, h in zip(ui, headless, strict=True) if h]


def run(info: ModelInfo, options: BenchOptions) -> TuiReport:
    from app.engine.llamacpp import load_engine

    with tempfile.TemporaryDirectory(prefix="loreweaver-bench-") as folder:
        home = Home(Path(folder)).ensure()
        settings = _settings(info, options)
        save_settings(home, settings)
        engine = load_engine(info, n_threads=settings.n_threads, n_ctx_cap=settings.n_ctx)
        try:
            report = TuiReport(info.name, options.runs, 0.0, 0.0, 0)
            rates: dict[str, list[float]] = {side: [] for side in SIDES}
            for index in range(options.runs):
                for side in SIDES[index % len(SIDES) :] + SIDES[: index % len(SIDES)]:
                    engine.reset_cache()
                    if side == "headless":
                        stats = _headless(engine, info, settings, home)
                    else:
                        stats = asyncio.run(
                            _through_ui(
                                home,
                                engine,
                                report,
                                first=report.first_screen_s == 0,
                                typing=side == "typing",
                            )
                        )
                        report.completion_tokens = stats.completion_tokens
                    _same_prompt(report, stats)
                    rates[side].append(stats.tokens_per_s)  # after the first token
            report.ui_tokens_per_s = median(rates["watching"])
            report.typing_tokens_per_s = median(rates["typing"])
            report.headless_tokens_per_s = median(rates["headless"])
            report.watching_ratios = _ratios(rates["watching"], rates["headless"])
            report.typing_ratios = _ratios(rates["typing"], rates["headless"])
            return report
        finally:
            engine.close()
