"""`loreweaver bench --tui`: the terminal app, driven by Pilot, against the headless session.

Three figures, each from this run:
- tokens/s of a reply streamed through the UI over the same reply generated headless (same
  character, prompt, greedy settings and model): the UI's cost on generation (target ≥ 0.95);
- how long a key press takes to reach the input box while a reply streams (target ≤ 100 ms);
- time to the first painted screen while the model is still loading (target < 1 s): the loader
  is held until the screen is up, so the figure cannot hide behind a fast load.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.bench import BenchOptions
from app.engine.base import Engine, GenerationStats
from app.engine.llamacpp import LlamaEngine
from app.engine.modelinfo import ModelInfo
from app.errors import LoreweaverError
from app.home import Home
from app.settings import SamplingSettings, Settings, save_settings

CHARACTER = "brenna"
LINE = "Tell me the whole story of the finest sword you ever forged, every step of it."
KEY_INTERVAL_S = 0.1
WAIT_S = 120.0
"""How long any step may take before the run gives up with an error (never a hang)."""


@dataclass
class TuiReport:
    model: str
    runs: int
    ui_tokens_per_s: float
    headless_tokens_per_s: float
    completion_tokens: int
    key_latency_ms: list[float] = field(default_factory=list)
    first_screen_s: float = 0.0
    model_loading_at_first_screen: bool = True

    def as_dict(self) -> dict[str, Any]:
        latencies = self.key_latency_ms or [0.0]
        return {
            "model": self.model,
            "runs": self.runs,
            "completion_tokens": self.completion_tokens,
            "ui_tokens_per_s": round(self.ui_tokens_per_s, 2),
            "headless_tokens_per_s": round(self.headless_tokens_per_s, 2),
            "tokens_per_s_ratio": round(self.ui_tokens_per_s / self.headless_tokens_per_s, 3)
            if self.headless_tokens_per_s
            else 0.0,
            "key_presses": len(self.key_latency_ms),
            "key_latency_ms_median": round(statistics.median(latencies), 1),
            "key_latency_ms_max": round(max(latencies), 1),
            "first_screen_s": round(self.first_screen_s, 3),
            "model_loading_at_first_screen": self.model_loading_at_first_screen,
        }

    def render(self) -> Any:
        from rich.table import Table

        figures = self.as_dict()
        table = Table(
            title=f"TUI responsiveness — {self.model}, {self.runs} runs", title_justify="left"
        )
        table.add_column("figure")
        table.add_column("value", justify="right")
        table.add_column("target")
        table.add_row(
            "tokens/s through the UI / headless",
            f"{figures['ui_tokens_per_s']} / {figures['headless_tokens_per_s']} = "
            f"{figures['tokens_per_s_ratio']}",
            "≥ 0.95",
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


def _rate(stats: GenerationStats) -> float:
    """Tokens/s after the first token: the streaming rate, prompt evaluation excluded."""
    if stats.first_token_s is None or stats.completion_tokens < 2:
        return 0.0
    span = stats.total_s - stats.first_token_s
    return (stats.completion_tokens - 1) / span if span > 0 else 0.0


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
    from app.session import sampling_from, start_session
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


async def _through_ui(
    home: Home, engine: LlamaEngine, report: TuiReport, *, first: bool
) -> GenerationStats:
    from textual import events
    from textual.widgets import Input

    from app.tui.app import LoreweaverApp
    from app.tui.messages import ReplyDone

    gate = threading.Event()
    painted: list[float] = []
    done: list[GenerationStats] = []
    changed: list[float] = []
    """When the input box took each key, stamped by the app itself (no polling)."""

    def loader(info: ModelInfo, settings: Settings) -> Engine:
        gate.wait(timeout=30)  # held until the first screen is painted
        return engine

    class MeasuredApp(LoreweaverApp):
        def on_mount(self) -> None:
            super().on_mount()
            self.call_after_refresh(lambda: painted.append(time.perf_counter()))

        def on_reply_done(self, message: ReplyDone) -> None:
            super().on_reply_done(message)
            done.append(message.stats)

        def on_unmount(self) -> None:
            self.engine = None  # the engine is shared between runs: the bench closes it
            super().on_unmount()

        def on_input_changed(self) -> None:
            changed.append(time.perf_counter())

    async def until(condition: Callable[[], bool], what: str, step: float = 0.005) -> None:
        deadline = time.perf_counter() + WAIT_S
        while not condition():
            if time.perf_counter() > deadline:
                raise LoreweaverError(f"bench --tui: {what} did not happen within {WAIT_S:.0f} s")
            await asyncio.sleep(step)

    app = MeasuredApp(home, loader=loader)
    started = time.perf_counter()
    async with app.run_test(size=(120, 40)) as pilot:
        await until(lambda: bool(painted), "the first screen")
        if first:
            report.first_screen_s = painted[0] - started
            report.model_loading_at_first_screen = app.engine is None
        gate.set()
        await until(lambda: app.session is not None, "the chat opening")
        app.open_character(CHARACTER, new=True)  # the same fresh chat the headless side has
        await until(lambda: app.session is not None and app.current_id == CHARACTER,
                    "the new chat opening")
        box = app.query_one("#say", Input)
        box.focus()
        box.value = LINE
        await pilot.press("enter")
        await until(lambda: bool(done) or (app.streaming is not None and bool(app.streaming.text)),
                    "the reply starting")
        pressed: list[float] = []
        changed.clear()
        while not done:
            # Keys are posted the way the terminal driver posts them, and their effect is stamped
            # by the app: Pilot's `press` would wait for the app to go idle (never, while a reply
            # streams) and polling would take CPU from the model being measured.
            for key, character in (("x", "x"), ("backspace", None)):
                pressed.append(time.perf_counter())
                app.post_message(events.Key(key, character))
                await asyncio.sleep(KEY_INTERVAL_S / 2)
        await asyncio.sleep(KEY_INTERVAL_S)
        report.key_latency_ms += [(c - p) * 1000 for p, c in zip(pressed, changed, strict=False)]
        if len(changed) < len(pressed):
            raise LoreweaverError("bench --tui: a key press was never handled")
    return done[0]


def run(info: ModelInfo, options: BenchOptions) -> TuiReport:
    from app.engine.llamacpp import load_engine

    with tempfile.TemporaryDirectory(prefix="loreweaver-bench-") as folder:
        home = Home(Path(folder)).ensure()
        settings = _settings(info, options)
        save_settings(home, settings)
        engine = load_engine(info, n_threads=settings.n_threads, n_ctx_cap=settings.n_ctx)
        try:
            report = TuiReport(info.name, options.runs, 0.0, 0.0, 0)
            ui_rates: list[float] = []
            headless_rates: list[float] = []
            for index in range(options.runs):  # interleaved, so drift hits both sides
                engine.reset_cache()
                headless = _headless(engine, info, settings, home)
                headless_rates.append(_rate(headless))
                engine.reset_cache()
                ui = asyncio.run(_through_ui(home, engine, report, first=index == 0))
                ui_rates.append(_rate(ui))
                report.completion_tokens = ui.completion_tokens
            report.ui_tokens_per_s = statistics.median(ui_rates)
            report.headless_tokens_per_s = statistics.median(headless_rates)
            return report
        finally:
            engine.close()
