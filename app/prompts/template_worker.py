"""Chat templates from model files run in a child process the operating system bounds.

The sandbox (`sandbox.TemplateSandbox`) blocks code execution and checks the usual amplifiers,
but its deadline is a tracer on the template's own lines: work inside one Jinja filter or
method (`wordwrap`, `urlize`, `sort` of a huge list, `center`) runs unwatched, and a 100-byte
template can take a minute and gigabytes. So templates are compiled and rendered in a child
process with an address-space limit, a CPU-time limit per request and a wall-clock kill; the
parent keeps one child for the whole run and restarts it after a failure. Formats render
once per conversation shape (`skeleton`), so this costs a round trip per new shape, not per
turn; the child starts while nothing waits for it (`warm_up`).

Protocol: one JSON object per line each way. Request `{"source", "contexts", "time_limit"}`;
reply `{"renders": [...]}` or `{"error": kind, "message": text, "line": n}`.
"""

from __future__ import annotations

import atexit
import json
import os
import resource
import selectors
import signal
import subprocess
import sys
import threading
import time
from typing import Any

MEMORY_LIMIT = 768 * 1024 * 1024
"""Address space of the child: an interpreter with Jinja needs ~60 MB; the rest is headroom."""
CPU_LIMIT_S = 1
"""CPU seconds one request may use (real templates render in milliseconds)."""
WALL_LIMIT_S = 10.0
"""Wall-clock seconds one request may take, whatever the machine's load."""
START_LIMIT_S = 60.0
"""Wall-clock seconds the child may take to start (imports on a busy machine)."""
_READY = "ready"
_COMPILED = 8


class WorkerFailed(Exception):
    """The child failed a request: `kind` is raised, security, limit, syntax or failed."""

    def __init__(self, kind: str, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.line = line


class TemplateWorker:
    """The parent's handle on the child; thread-safe, one request at a time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._ready = False
        self._buffer = b""

    def warm_up(self) -> None:
        """Start the child now (it imports while the caller goes on)."""
        with self._lock:
            self._spawn()

    def render(self, source: str, contexts: list[dict[str, Any]], time_limit: float) -> list[str]:
        """`source` compiled and rendered with each context, or `WorkerFailed`. `time_limit`
        is the sandbox's own deadline in the child, under the process limits."""
        request = json.dumps({"source": source, "contexts": contexts, "time_limit": time_limit})
        data = request.encode() + b"\n"
        with self._lock:
            proc = self._spawn()
            try:
                if not self._ready:
                    self._read_line(proc, START_LIMIT_S, "starting the template renderer")
                    self._ready = True
                try:
                    assert proc.stdin is not None
                    proc.stdin.write(data)
                    proc.stdin.flush()
                except OSError:
                    raise self._died(proc) from None
                reply = json.loads(self._read_line(proc, WALL_LIMIT_S, "rendering"))
            except BaseException:  # interrupted mid-request: its late reply must not be read
                self._stop()
                raise
            if reply.get("error") == "limit":
                self._stop()  # the child ends after a limit; the next request starts afresh
        if "error" in reply:
            raise WorkerFailed(reply["error"], reply["message"], reply.get("line"))
        return [str(r) for r in reply["renders"]]

    def close(self) -> None:
        with self._lock:
            self._stop()

    def _spawn(self) -> subprocess.Popen[bytes]:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        self._stop()
        self._proc = subprocess.Popen(
            [sys.executable, "-m", __name__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)},
        )
        self._ready, self._buffer = False, b""
        return self._proc

    def _stop(self) -> None:
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.kill()
            self._proc.wait()
            for pipe in (self._proc.stdin, self._proc.stdout):
                if pipe is not None:
                    pipe.close()
        self._proc = None

    def _read_line(self, proc: subprocess.Popen[bytes], limit: float, doing: str) -> bytes:
        assert proc.stdout is not None
        deadline = time.monotonic() + limit
        with selectors.DefaultSelector() as selector:
            selector.register(proc.stdout, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    self._stop()
                    raise WorkerFailed("limit", f"{doing} took longer than {limit:g} s")
                chunk = os.read(proc.stdout.fileno(), 1 << 20)
                if not chunk:
                    raise self._died(proc)
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def _died(self, proc: subprocess.Popen[bytes]) -> WorkerFailed:
        code = proc.wait()
        self._stop()
        if code == -24:  # SIGXCPU
            return WorkerFailed("limit", f"rendering used more than {CPU_LIMIT_S} s of CPU time")
        return WorkerFailed("limit", f"the template renderer stopped (exit {code})")


WORKER = TemplateWorker()
atexit.register(WORKER.close)


def _serve() -> None:
    """The child: apply the limits, then answer requests until stdin closes. Ctrl-C is the
    parent's to handle (it reaches the whole process group)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    from app.prompts.sandbox import TemplateSandbox

    sandbox = TemplateSandbox()
    compiled: dict[str, Any] = {}
    out = sys.stdout
    out.write(_READY + "\n")
    out.flush()
    for line in sys.stdin:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        used = int(usage.ru_utime + usage.ru_stime) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (used + CPU_LIMIT_S, resource.RLIM_INFINITY))
        try:
            reply = _answer(sandbox, compiled, json.loads(line))
        except MemoryError:
            reply = {
                "error": "limit",
                "message": f"rendering ran out of memory ({MEMORY_LIMIT // 2**20} MB)",
            }
        out.write(json.dumps(reply) + "\n")
        out.flush()
        if reply.get("error") == "limit":
            return  # a fresh child for the next request: nothing half-built stays behind


def _answer(sandbox: Any, compiled: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
    from jinja2 import TemplateSyntaxError
    from jinja2.exceptions import SecurityError

    from app.prompts.sandbox import TemplateLimit, TemplateRaised

    source = request["source"]
    try:
        template = compiled.get(source)
        if template is None:
            template = sandbox.compile_template(source)
            if len(compiled) >= _COMPILED:
                compiled.clear()
            compiled[source] = template
    except TemplateSyntaxError as exc:
        return {"error": "syntax", "message": str(exc.message or exc), "line": exc.lineno}
    except (MemoryError, RecursionError):
        return {"error": "limit", "message": "the template is too deeply nested to compile"}
    except Exception as exc:
        return {"error": "failed", "message": f"{type(exc).__name__}: {exc}"}
    try:
        limit = min(float(request["time_limit"]), CPU_LIMIT_S)
        renders = [sandbox.render(template, c, time_limit=limit) for c in request["contexts"]]
    except TemplateRaised as exc:
        return {"error": "raised", "message": str(exc)}
    except SecurityError as exc:
        return {"error": "security", "message": str(exc)}
    except TemplateLimit as exc:
        return {"error": "limit", "message": str(exc)}
    except MemoryError:
        raise
    except Exception as exc:  # any failure of an untrusted template is bad input
        return {"error": "failed", "message": f"{type(exc).__name__}: {exc}"}
    return {"renders": renders}


if __name__ == "__main__":
    _serve()
