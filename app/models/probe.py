"""Loading a model file for the first time in a child process, so a native abort kills the child.

llama.cpp aborts the process (GGML_ASSERT) on some malformed models instead of returning an
error. A file that has never loaded before is therefore loaded once by a short `python -c`
child under CPU, memory and wall-clock limits; its verdict is kept in the home, keyed by the
file's path, size and modification time, so later starts (and `loreweaver models`) pay nothing.
A timeout is not cached: a busy machine must not condemn a good file for good.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from app.fsutil import write_text_atomic
from app.home import Home
from app.models.info import ModelInfo

_SOURCE_PREFIX = re.compile(r"^(?:[A-Za-z_]\w*: )+(?:error loading model: )?")
CACHE_NAME = "model-probes.json"
BASE_SECONDS = 60.0
SECONDS_PER_GB = 15.0
"""Reading a file from a slow disk is part of loading it: the limit grows with the size."""
EXTRA_MEMORY = 2 * 1024**3
"""Address space beyond the mapped file: Python, llama.cpp's buffers and thread stacks."""
PROBE_CTX = 256

# The child: limit itself (here rather than in a preexec_fn, which is unsafe in a threaded
# parent such as the TUI), load the model, create a small context, tokenize, and report
# llama.cpp's first error.
_CHILD = """
import ctypes, resource, sys
limits = {resource.RLIMIT_AS: int(sys.argv[3]), resource.RLIMIT_CPU: int(sys.argv[4]),
          resource.RLIMIT_CORE: 0}
for kind, wanted in limits.items():
    hard = resource.getrlimit(kind)[1]
    soft = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    resource.setrlimit(kind, (soft, hard))
import llama_cpp
errors = []
@llama_cpp.llama_log_callback
def log(level, text, _):
    if level == 4 and len(errors) < 5: errors.append(text.decode("utf-8", "replace").strip())
llama_cpp.llama_log_set(log, ctypes.c_void_p(0))
try:
    llm = llama_cpp.Llama(model_path=sys.argv[1], n_ctx=int(sys.argv[2]), n_batch=32,
                          n_threads=1, verbose=False)
    llm.tokenize(b"Hello, world", add_bos=True, special=True)
except Exception as exc:
    print("LWPROBE-ERROR", (errors[0] if errors else str(exc))[:300].replace("\\n", " "))
else:
    print("LWPROBE-OK")
"""


def _key(path: Path) -> tuple[str, dict[str, int]] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return str(path.resolve()), {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _load_cache(home: Home) -> dict[str, dict[str, object]]:
    try:
        data = json.loads((home.root / CACHE_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # missing or damaged: probe again, the cache is only a shortcut
    return data if isinstance(data, dict) else {}


def cached_verdict(home: Home, path: Path) -> tuple[bool, str | None]:
    """(known, problem): whether this exact file has been probed, and what was found."""
    key = _key(path)
    entry = _load_cache(home).get(key[0]) if key else None
    if not isinstance(entry, dict) or key is None:
        return False, None
    if entry.get("size") != key[1]["size"] or entry.get("mtime_ns") != key[1]["mtime_ns"]:
        return False, None
    problem = entry.get("problem")
    return True, problem if isinstance(problem, str) else None


def remember(home: Home, path: Path, problem: str | None) -> None:
    key = _key(path)
    if key is None:
        return
    cache = {known: entry for known, entry in _load_cache(home).items() if Path(known).exists()}
    cache[key[0]] = {**key[1], "problem": problem}  # (files gone since are forgotten)
    with contextlib.suppress(OSError):  # a read-only home: the next start probes again
        write_text_atomic(home.root / CACHE_NAME, json.dumps(cache, indent=1))


def run_probe(path: Path, file_size: int) -> tuple[bool, str | None]:
    """(conclusive, problem) from loading `path` in a child process; a timeout is inconclusive."""
    seconds = BASE_SECONDS + SECONDS_PER_GB * file_size / 1024**3
    memory = file_size + EXTRA_MEMORY
    env = {**os.environ, "GGML_NO_BACKTRACE": "1"}  # no gdb dump on an abort
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                _CHILD,
                str(path),
                str(PROBE_CTX),
                str(memory),
                str(int(seconds) + 1),
            ],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=seconds,
            env=env,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return False, f"llama.cpp did not finish loading it within {seconds:.0f} s"
    except OSError as exc:
        return False, f"cannot start a test load ({exc.strerror or exc})"
    for line in done.stdout.splitlines():
        if line == "LWPROBE-OK":
            return True, None
        if line.startswith("LWPROBE-ERROR"):
            reason = plain_error(line.removeprefix("LWPROBE-ERROR").strip())
            return True, f"llama.cpp cannot load it: {reason}"
    if done.returncode < 0:
        sig = -done.returncode
        if sig == signal.SIGABRT:
            return True, "llama.cpp aborted loading it"
        if sig in (signal.SIGKILL, signal.SIGXCPU):
            return False, "loading it ran out of time or memory in a test load"
        name = signal.Signals(sig).name if sig in signal.valid_signals() else f"signal {sig}"
        return True, f"llama.cpp crashed loading it ({name})"
    # no verdict printed and no signal: the child itself failed (e.g. llama_cpp not importable),
    # which says nothing about the file, so nothing is cached
    return False, f"a test load could not run (exit {done.returncode})"


def checked(home: Home, info: ModelInfo) -> ModelInfo:
    """`info`, with `problem` set when loading the file kills or fails a child process."""
    if not info.usable:
        return info
    known, problem = cached_verdict(home, info.path)
    if not known:
        conclusive, problem = run_probe(info.path, info.file_size)
        if conclusive:
            remember(home, info.path, problem)
    return info if problem is None else replace(info, problem=problem)


def plain_error(line: str) -> str:
    """A llama.cpp error line without the C function names it starts with."""
    return _SOURCE_PREFIX.sub("", line)
