"""Helpers shared by tests (importable as `support`: `tests/` is on pytest's pythonpath)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import warm_cli

if TYPE_CHECKING:
    from textual.pilot import Pilot

    from app.engine.base import Engine
    from app.home import Home
    from app.memory.store import ChatStore
    from app.session import ChatSession

REPO = Path(__file__).resolve().parent.parent

SnapCompare = Callable[..., bool]
"""pytest-textual-snapshot's `snap_compare` fixture: `(app, press=…, terminal_size=…,
run_before=…) -> bool` (the plugin declares it as taking the app alone)."""


def run_cli(
    *args: str, stdin: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run `loreweaver ARGS…` as a real subprocess (the same interpreter), capturing its output.
    The process is forked from a helper that has the CLI's modules imported (`warm_cli`), unless
    the environment changes what an interpreter reads at start: then it starts cold."""
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    warm = warm_cli.launcher()
    if warm.matches(env):
        return warm.run(args, stdin, env, REPO, timeout)
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env=env,
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """Assert a failed command said exactly one line on stderr and no traceback; return it."""
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


async def wait_until(
    pilot: Pilot[Any], condition: Callable[[], object], *, timeout: float = 30.0
) -> None:
    """Let a Textual app run until `condition()` holds; fail with a clear message on timeout."""
    import asyncio
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await pilot.pause(0.02)
        await asyncio.sleep(0)


def start_brenna(
    engine: Engine, home: Home, /, store: ChatStore | None = None, **options: Any
) -> ChatSession:
    """A session with the bundled sample Brenna on `engine`, in the model's own prompt format with
    default settings; `options` go to `start_session` (user, resume, summaries, home…)."""
    from app.models import resolve_model
    from app.prompts.formats import choose_format
    from app.session_start import start_session
    from app.settings import Settings
    from app.sheets import library

    info = resolve_model(home, None)
    _, sheet = library.load(home, "brenna")
    fmt = choose_format(None, info)
    return start_session(engine, info, fmt, sheet, "brenna", Settings(), store=store, **options)
