"""Run the real CLI on hostile input under a time and memory limit, and classify what happened.

Every hostile case is a subprocess: a hang is a timeout, a native crash is a signal, a Python
escape is a traceback on stderr. The corpus modules beside this one generate the cases.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

TIME_LIMIT = 60.0
"""Seconds of wall-clock time one case may take before it counts as a hang."""

MEMORY_LIMIT = 1536 * 1024 * 1024
"""Address space one case may use (the bundled model maps ~100 MB; llama.cpp reserves more)."""


@dataclass(frozen=True)
class Outcome:
    args: tuple[str, ...]
    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool

    @property
    def crashed(self) -> bool:
        """Killed by a signal (SIGSEGV, SIGABRT…), or out of memory."""
        return self.returncode is not None and self.returncode < 0

    @property
    def traceback(self) -> bool:
        return "Traceback (most recent call last)" in self.stderr

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]

    def verdict(self) -> str:
        """'hang', 'crash', 'traceback', 'ok' (exit 0) or 'error' (exit ≠ 0, one clean line)."""
        if self.timed_out:
            return "hang"
        if self.crashed:
            return "crash"
        if self.traceback:
            return "traceback"
        if self.returncode == 0:
            return "ok"
        return "error" if len(self.error_lines) == 1 else "messy-error"

    def describe(self) -> str:
        head = f"{' '.join(self.args)!r}: {self.verdict()} (exit {self.returncode})"
        return f"{head}\n{self.stderr[-2000:]}"


def _limits(memory: int, file_size: int | None = None) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if file_size is not None:  # a full disk, as a write sees it: EFBIG instead of a signal
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))


def run_limited(
    *args: str,
    stdin: str | None = None,
    timeout: float = TIME_LIMIT,
    memory: int = MEMORY_LIMIT,
    env: dict[str, str] | None = None,
    file_size: int | None = None,
) -> Outcome:
    """`loreweaver ARGS…` in a child with a memory rlimit and a wall-clock limit (and, to stand
    in for a full disk, a cap on the size any file can grow to)."""
    return _run([sys.executable, "-m", "app", *args], args, stdin, timeout, memory, env, file_size)


def _run(
    argv: list[str],
    args: tuple[str, ...],
    stdin: str | None,
    timeout: float,
    memory: int,
    env: dict[str, str] | None,
    file_size: int | None = None,
) -> Outcome:
    full_env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **(env or {})}
    try:
        done = subprocess.run(
            argv,
            input=stdin,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            cwd=REPO,
            env=full_env,
            preexec_fn=lambda: _limits(memory, file_size),
        )
    except subprocess.TimeoutExpired as expired:
        out = expired.stdout or ""
        err = expired.stderr or ""
        return Outcome(
            tuple(args),
            None,
            out if isinstance(out, str) else out.decode("utf-8", "replace"),
            err if isinstance(err, str) else err.decode("utf-8", "replace"),
            True,
        )
    return Outcome(tuple(args), done.returncode, done.stdout, done.stderr, False)


_BATCH_DRIVER = """
import contextlib, io, json, os, sys, traceback
from app.cli import main
results = []
for case in json.load(open(sys.argv[1], encoding="utf-8")):
    os.environ.update(case["env"])
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(case["args"])
        except SystemExit as exit:
            code = exit.code if isinstance(exit.code, int) else 1
        except BaseException:
            code = 1
            err.write(traceback.format_exc())
    results.append({"code": code, "stdout": out.getvalue()[-4000:], "stderr": err.getvalue()})
print(json.dumps(results))
"""


def run_batch(
    cases: list[tuple[list[str], dict[str, str]]],
    *,
    timeout: float = TIME_LIMIT,
    memory: int = MEMORY_LIMIT,
) -> list[Outcome]:
    """Many `loreweaver ARGS…` runs (each with its own environment additions) in one child
    under the same limits (`timeout` is for the whole batch): one interpreter start for the lot.
    Each case gets its own Outcome; an escaped exception counts as a traceback. A hang or crash
    fails the whole batch."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as f:
        json.dump([{"args": args, "env": env} for args, env in cases], f)
    try:
        outcome = _run(
            [sys.executable, "-c", _BATCH_DRIVER, f.name], ("batch",), None, timeout, memory, None
        )
    finally:
        os.unlink(f.name)
    assert outcome.verdict() == "ok", outcome.describe()
    results = json.loads(outcome.stdout.splitlines()[-1])
    return [
        Outcome(tuple(args), r["code"], r["stdout"], r["stderr"], False)
        for (args, _), r in zip(cases, results, strict=True)
    ]


def tree_digest(root: Path) -> dict[str, str]:
    """Every file under `root` with a hash of its bytes, to compare before and after an import."""
    found: dict[str, str] = {}
    if not root.exists():
        return found
    for path in sorted(root.rglob("*")):
        if path.is_file():
            found[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
        elif path.is_dir():
            found[str(path.relative_to(root)) + "/"] = ""
    return found


def assert_clean_failure(outcome: Outcome) -> str:
    """A refused input: exit ≠ 0, exactly one line on stderr, no traceback, no hang, no crash."""
    assert outcome.verdict() == "error", outcome.describe()
    return outcome.error_lines[0]


def assert_survived(outcome: Outcome) -> None:
    """Accepted or refused, but never a hang, a crash, a traceback or a multi-line error."""
    assert outcome.verdict() in {"ok", "error"}, outcome.describe()
