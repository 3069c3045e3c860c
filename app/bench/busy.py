"""Decode speed with and without a CPU-bound program beside it, for a few thread settings.

With threads = cores, llama.cpp's threads meet at a barrier after every step of every token;
when another program holds one core, the thread scheduled behind it holds up the others, and
OpenMP's spinning waiters take CPU from the very thread they wait for. Each setting runs in a
child process of its own (OpenMP reads its environment once, when the library loads); the
child measures the same greedy generation idle and with a competitor spinning on one core,
alternating the two, and reports medians. The load average is recorded beside the figures:
on a shared machine the idle side is not idle.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.bench import BenchOptions
from app.bench.common import median
from app.models import ModelInfo

if TYPE_CHECKING:
    from app.engine.base import Sampling
    from app.engine.llamacpp import LlamaEngine

SPIN = (
    "import os\nparent = os.getppid()\n"
    "while os.getppid() == parent:\n    for _ in range(10**5): pass"
)
"""The competitor: a CPU-bound loop pinned to one core, which ends if its parent dies."""
BOOST = -15
"""Niceness asked for the measuring child and its competitor (root only): equal to each other,
above the rest of a shared machine, so that "idle" is near idle and "busy" is this one
competitor. Refused without the privilege; the report says which niceness ran."""
WARM_UP_S = 0.4
"""How long the machine is in its state before a measurement starts: the competitor running
(so it holds its core), or stopped (so "idle" does not start in the last busy moment)."""
CAP_S = 8.0
"""Longest a measured generation may run (a spinning wait can stall for seconds when busy)."""


@dataclass(frozen=True)
class Setting:
    """One way to run llama.cpp's threads: counts, and the environment OpenMP reads."""

    name: str
    n_threads: int
    n_threads_batch: int
    env: dict[str, str] = field(default_factory=dict)
    adapt: bool = False
    """Decode threads follow the step times (`Settings.thread_adapt`); else always `n_threads`."""


def settings_for(cores: int) -> list[Setting]:
    """Fixed threads = cores with OpenMP's own wait first (the baseline and the default), then
    the alternatives: adaptive decode threads (`Settings.thread_adapt`), OpenMP's wait policy,
    a short spin, one thread fewer for decode."""
    fewer = max(1, cores - 1)
    return [
        Setting("fixed, OpenMP's wait", cores, cores),
        Setting("adaptive", cores, cores, adapt=True),
        Setting("wait=sleep", cores, cores, {"OMP_WAIT_POLICY": "PASSIVE"}),
        Setting("short spin", cores, cores, {"GOMP_SPINCOUNT": "1000"}),
        Setting("decode cores-1", fewer, cores),
        Setting("decode cores-1, sleep", fewer, cores, {"OMP_WAIT_POLICY": "PASSIVE"}),
    ]


@dataclass(frozen=True)
class SettingResult:
    name: str
    n_threads: int
    n_threads_batch: int
    env: dict[str, str]
    adapt: bool
    idle_tokens_per_s: float
    busy_tokens_per_s: float
    busy_ratio: float | None
    """Busy decode rate over this setting's idle rate (target ≥ 0.4); None when idle stalled."""
    idle_vs_baseline: float | None
    """This setting's idle decode rate over the baseline's (the first setting; target ≥ 0.95)."""
    idle_first_token_s: float
    busy_first_token_s: float
    nice: int
    """The niceness the child and its competitor ran at (see `BOOST`)."""


@dataclass
class BusyReport:
    model: str
    cores: int
    runs: int
    max_tokens: int
    competitor_core: int
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    results: list[SettingResult]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def render(self) -> Any:
        from rich.table import Table

        table = Table(
            title=f"Decode with a CPU-bound program on core {self.competitor_core} "
            f"({self.cores} cores): {self.model}, {self.max_tokens} tokens, "
            f"median of {self.runs}",
            title_justify="left",
            caption=f"load average before {_load(self.load_before)}, "
            f"after {_load(self.load_after)}; niceness "
            f"{', '.join(sorted({str(r.nice) for r in self.results}))}",
            caption_justify="left",
        )
        for column in (
            "setting",
            "threads",
            "idle tok/s",
            "busy tok/s",
            "busy / idle",
            "idle / baseline",
        ):
            table.add_column(column, justify="left" if column == "setting" else "right")
        for r in self.results:
            table.add_row(
                r.name,
                f"{'≤' if r.adapt else ''}{r.n_threads}/{r.n_threads_batch}",
                _shown(r.idle_tokens_per_s),
                _shown(r.busy_tokens_per_s),
                "-" if r.busy_ratio is None else f"{r.busy_ratio:.2f}",
                "-" if r.idle_vs_baseline is None else f"{r.idle_vs_baseline:.2f}",
            )
        return table


def _load(values: tuple[float, float, float]) -> str:
    return " ".join(f"{v:.2f}" for v in values)


def _ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 3) if whole else None


def _shown(rate: float) -> str:
    """A decode rate; 0 means no token came within `CAP_S` (a stall)."""
    return f"{rate:.1f}" if rate else f"stalled {CAP_S:.0f} s"


def _rate(tokens: int, seconds: float) -> float:
    return (tokens - 1) / seconds if seconds > 0 and tokens > 1 else 0.0


def _child(arguments: str) -> None:
    """Runs in the child: the same generation idle and busy, alternating; one JSON line out."""
    from app.bench.streaming import bench_prompt
    from app.engine.base import Sampling
    from app.engine.llamacpp import load_engine
    from app.models import read_model_info

    given = json.loads(arguments)
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, 0, BOOST)
    nice = os.getpriority(os.PRIO_PROCESS, 0)
    info = read_model_info(Path(given["model"]), "path")
    sampling = Sampling(
        temperature=0.0, top_p=1.0, top_k=0, min_p=0.0, repeat_penalty=1.0, seed=1,
        max_tokens=given["max_tokens"],
    )  # fmt: skip
    figures: dict[str, list[tuple[float, float]]] = {"idle": [], "busy": []}
    threads = {"n_threads": given["n_threads"], "n_threads_batch": given["n_threads_batch"]}
    with load_engine(
        info, **threads, thread_wait="library", thread_adapt=given["adapt"], n_ctx_cap=2048
    ) as engine:
        prompt = bench_prompt(info, 75)
        _timed(engine, prompt, replace(sampling, max_tokens=4))  # warm-up: page the model in
        for index in range(given["runs"]):
            for side in ("idle", "busy") if index % 2 == 0 else ("busy", "idle"):
                competitor = _spin(given["core"]) if side == "busy" else None
                try:
                    time.sleep(WARM_UP_S)
                    figures[side].append(_timed(engine, prompt, sampling))
                finally:
                    if competitor is not None:
                        competitor.kill()
                        competitor.wait()
    print(json.dumps({"nice": nice, **{k: [list(v) for v in vs] for k, vs in figures.items()}}))


def _timed(engine: LlamaEngine, prompt: str, sampling: Sampling) -> tuple[float, float]:
    """(seconds to the first token, decode tokens/s) from a cold cache; a generation still
    running after `CAP_S` is stopped and rated on what it made (a stall must not stall the
    bench: a prompt never finished reads as `CAP_S` to the first token and 0 tokens/s)."""
    engine.reset_cache()
    cancel = threading.Event()
    timer = threading.Timer(CAP_S, cancel.set)
    start = time.perf_counter()
    first: float | None = None
    timer.start()
    try:
        generation = engine.generate(prompt, sampling, cancel=cancel)
        for _ in generation:
            if first is None:
                first = time.perf_counter()
    finally:
        timer.cancel()
    end = time.perf_counter()
    if first is None:
        return end - start, 0.0
    return first - start, _rate(generation.stats.completion_tokens, end - first)


def _spin(core: int) -> subprocess.Popen[bytes]:
    """A CPU-bound competitor pinned to `core`."""
    process = subprocess.Popen([sys.executable, "-c", SPIN])
    with contextlib.suppress(AttributeError, OSError):  # unpinned, it still takes a core's time
        os.sched_setaffinity(process.pid, {core})
    return process


def measure(
    info: ModelInfo, setting: Setting, *, runs: int, max_tokens: int, core: int
) -> dict[str, Any]:
    """One setting's (first token s, decode tok/s) pairs, idle and busy, and the niceness it
    ran at, from a child."""
    arguments = json.dumps(
        {
            "model": str(info.path),
            "n_threads": setting.n_threads,
            "n_threads_batch": setting.n_threads_batch,
            "adapt": setting.adapt,
            "runs": runs,
            "max_tokens": max_tokens,
            "core": core,
        }
    )
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from app.bench.busy import _child; _child(sys.argv[1])"]
        + [arguments],
        env={**env, **setting.env},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"setting {setting.name!r} failed in the child: {tail}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def run_busy(
    info: ModelInfo,
    *,
    runs: int = 3,
    max_tokens: int = 64,
    cores: int | None = None,
    settings: list[Setting] | None = None,
) -> BusyReport:
    from app.settings import physical_cores

    cores = cores or physical_cores()
    chosen = settings if settings is not None else settings_for(cores)
    core = (os.cpu_count() or 1) - 1
    load_before = os.getloadavg()
    measured = [(s, measure(info, s, runs=runs, max_tokens=max_tokens, core=core)) for s in chosen]
    load_after = os.getloadavg()
    baseline_idle = median([rate for _, rate in measured[0][1]["idle"]]) if measured else 0.0
    results = []
    for setting, figures in measured:
        idle = median([rate for _, rate in figures["idle"]])
        busy = median([rate for _, rate in figures["busy"]])
        results.append(
            SettingResult(
                name=setting.name,
                n_threads=setting.n_threads,
                n_threads_batch=setting.n_threads_batch,
                env=setting.env,
                adapt=setting.adapt,
                idle_tokens_per_s=round(idle, 2),
                busy_tokens_per_s=round(busy, 2),
                busy_ratio=_ratio(busy, idle),
                idle_vs_baseline=_ratio(idle, baseline_idle),
                idle_first_token_s=round(median([f for f, _ in figures["idle"]]), 4),
                busy_first_token_s=round(median([f for f, _ in figures["busy"]]), 4),
                nice=figures["nice"],
            )
        )
    return BusyReport(
        model=info.id,
        cores=cores,
        runs=runs,
        max_tokens=max_tokens,
        competitor_core=core,
        load_before=load_before,
        load_after=load_after,
        results=results,
    )


def run(info: ModelInfo, options: BenchOptions) -> BusyReport:
    """Entry point for `loreweaver bench --busy` (see `app.bench.BENCHES`)."""
    return run_busy(info, runs=options.runs, max_tokens=options.max_tokens)
