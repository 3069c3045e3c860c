"""A warm launcher for `run_cli`: each `loreweaver ARGS…` is still its own process, forked from a
helper that has already imported what every command imports (the CLI's parser and its modules).

A cold `python -m app` spends most of a short command (`chats list`, a one-line error) importing
pydantic, the sheets and the store; the fork skips that and nothing else. The child gets the
call's own stdin/stdout/stderr pipes, environment, working directory and argv, runs `app` as
`__main__`, and ends the way an interpreter does (atexit, an uncaught exception's traceback, a
signal's negative exit code). The helper never imports llama.cpp (OpenMP reads its wait policy
when the library loads, after the command chose it) and never starts a thread (a fork must not
copy one). A call whose environment differs in what the interpreter reads at start (`PYTHON*`,
the locale) runs cold: `matches` sends it back to `subprocess`.

Run as a script, this module is the helper: `python warm_cli.py SOCKET`; it stops when the
pytest process that started it closes its stdin.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_STARTUP_VARS = ("LANG", "LANGUAGE")
"""Variables besides `PYTHON*` and `LC_*` that an interpreter reads when it starts."""


def _startup_env(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k.startswith(("PYTHON", "LC_")) or k in _STARTUP_VARS}


# --- the helper process -----------------------------------------------------------------


def _serve(path: str) -> dict[str, Any] | None:
    """Answer requests until the parent goes; in a forked child, return its request instead."""
    import app.cli

    app.cli.build_parser()  # imports every command's module, as each run does
    if "llama_cpp" in sys.modules:
        raise SystemExit("warm_cli: the CLI imported llama_cpp up front; run cold instead")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "accept")
    selector.register(wake_read, selectors.EVENT_READ, "child")
    selector.register(sys.stdin.fileno(), selectors.EVENT_READ, "parent")
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    waiting: dict[int, socket.socket] = {}
    while True:
        for key, _ in selector.select():
            if key.data == "parent" and not os.read(sys.stdin.fileno(), 1024):
                return None  # pytest went away
            if key.data == "child":
                os.read(wake_read, 4096)
                _reap(waiting)
            if key.data == "accept":
                conn, _ = listener.accept()
                message, fds, _, _ = socket.recv_fds(conn, 1 << 20, 3)
                sys.stdout.flush()
                sys.stderr.flush()
                pid = os.fork()
                if pid == 0:
                    for held in (listener, conn, *waiting.values()):
                        held.close()
                    selector.close()
                    signal.set_wakeup_fd(-1)
                    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                    os.close(wake_read)
                    os.close(wake_write)
                    for target, fd in enumerate(fds):
                        os.dup2(fd, target)
                        os.close(fd)
                    return dict(json.loads(message))
                for fd in fds:
                    os.close(fd)
                conn.sendall(f"{pid}\n".encode())
                waiting[pid] = conn
        _reap(waiting)


def _reap(waiting: dict[int, socket.socket]) -> None:
    for pid in list(waiting):
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            conn = waiting.pop(pid)
            with contextlib.suppress(OSError):  # the caller gave up (a timeout) and left
                conn.sendall(f"{os.waitstatus_to_exitcode(status)}\n".encode())
            conn.close()


def _become(request: dict[str, Any]) -> None:
    """Turn this forked child into `python -m app ARGS…` started in `cwd` with `env`."""
    import runpy

    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.path[0] = request["cwd"]  # what `python -m` puts first
    sys.argv = ["-m", *request["args"]]  # runpy replaces argv[0] with the module's file
    runpy.run_module("app", run_name="__main__", alter_sys=True)


# --- the pytest side --------------------------------------------------------------------


class Launcher:
    """The running helper, as seen from the tests' process."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="lw-warm-")
        self.socket = str(Path(self._dir.name) / "s")
        self.startup = _startup_env(dict(os.environ))
        self.process = subprocess.Popen(
            [sys.executable, __file__, self.socket],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=Path(__file__).resolve().parent.parent,
            text=True,
        )
        assert self.process.stdout is not None
        self.ready = self.process.stdout.readline().strip() == "ready"
        atexit.register(self.stop)

    def matches(self, env: dict[str, str]) -> bool:
        return self.ready and self.process.poll() is None and _startup_env(env) == self.startup

    def stop(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._dir.cleanup()

    def run(
        self,
        args: tuple[str, ...],
        stdin: str | None,
        env: dict[str, str],
        cwd: Path,
        timeout: float,
    ) -> subprocess.CompletedProcess[str]:
        """What `subprocess.run([python, -m, app, *args], …, capture_output=True, text=True)`
        returns, from a forked child; `TimeoutExpired` after killing it, as `run` does."""
        cmd = [sys.executable, "-m", "app", *args]
        deadline = time.monotonic() + timeout
        in_r, in_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.connect(self.socket)
            request = {"args": list(args), "env": env, "cwd": str(cwd)}
            socket.send_fds(conn, [json.dumps(request).encode()], [in_r, out_w, err_w])
            for fd in (in_r, out_w, err_w):
                os.close(fd)
            pid = int(_read_line(conn, deadline, cmd, timeout))
            try:
                out, err = _communicate(in_w, out_r, err_r, stdin, deadline)
                code = int(_read_line(conn, deadline, cmd, timeout))
            except subprocess.TimeoutExpired as expired:
                _kill(pid)
                raise subprocess.TimeoutExpired(
                    cmd, timeout, expired.output, expired.stderr
                ) from None
        return subprocess.CompletedProcess(cmd, code, out, err)


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _read_line(conn: socket.socket, deadline: float, cmd: list[str], timeout: float) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        conn.settimeout(max(deadline - time.monotonic(), 0.001))
        try:
            chunk = conn.recv(64)
        except TimeoutError:
            raise subprocess.TimeoutExpired(cmd, timeout) from None
        if not chunk:
            raise RuntimeError("warm_cli: the helper went away")
        data += chunk
    return data


def _communicate(
    in_w: int, out_r: int, err_r: int, stdin: str | None, deadline: float
) -> tuple[str, str]:
    """Feed stdin and collect stdout and stderr until both close (as `communicate` does)."""
    pending = (stdin or "").encode()
    chunks: dict[int, list[bytes]] = {out_r: [], err_r: []}
    held = {in_w, out_r, err_r}

    def close(fd: int) -> None:
        selector.unregister(fd)
        held.discard(fd)
        os.close(fd)

    with selectors.DefaultSelector() as selector:
        selector.register(in_w, selectors.EVENT_WRITE)
        for fd in chunks:
            selector.register(fd, selectors.EVENT_READ)
        if pending:
            os.set_blocking(in_w, False)
        else:
            close(in_w)
        try:
            while out_r in held or err_r in held:
                left = deadline - time.monotonic()
                ready = selector.select(left) if left > 0 else []
                if not ready:
                    raise subprocess.TimeoutExpired(
                        "", 0, _text(chunks[out_r]), _text(chunks[err_r])
                    )
                for key, _ in ready:
                    if key.fd == in_w:
                        try:
                            pending = pending[os.write(in_w, pending[:65536]) :]
                        except BrokenPipeError:
                            pending = b""
                        if not pending:
                            close(in_w)
                    else:
                        chunk = os.read(key.fd, 65536)
                        if chunk:
                            chunks[key.fd].append(chunk)
                        else:
                            close(key.fd)
        finally:
            for fd in list(held):
                close(fd)
    return _text(chunks[out_r]), _text(chunks[err_r])


def _text(chunks: list[bytes]) -> str:
    """Decoded as `text=True` does: the locale's encoding, universal newlines."""
    import io

    return io.TextIOWrapper(io.BytesIO(b"".join(chunks))).read()


_launcher: Launcher | None = None


def launcher() -> Launcher:
    """The helper for this process (each xdist worker has its own), started on first use."""
    global _launcher
    if _launcher is None:
        _launcher = Launcher()
    return _launcher


if __name__ == "__main__":
    child = _serve(sys.argv[1])
    if child is not None:
        _become(child)
