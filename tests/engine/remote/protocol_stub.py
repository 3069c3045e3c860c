"""A protocol stub of llama.cpp's `llama-server`: its documented HTTP API, no model behind it
(plus the OpenAI-compatible `/v1/models` and `/v1/completions`, as vLLM streams them).

For the failure paths a real server will not produce on demand (401, 429, a truncated or
malformed stream, a stall, a death mid-reply) and for what the client sends. The happy path
runs against a real server (`conftest.openai_server`). Each `/completion` request takes the
next scripted `Behaviour` (default: three pieces, then a normal end).
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


PROPS = {  # as llama-server b1-4227c9b (llama-cpp-python 0.3.16's) answers, trimmed
    "default_generation_settings": {"id": 0, "id_task": -1, "n_ctx": 2048, "prompt": ""},
    "total_slots": 4,
    "model_path": "/models/stub-model.gguf",
    "modalities": {"vision": False, "audio": False},
    "chat_template": TEMPLATE,
    "bos_token": "<|im_start|>",
    "eos_token": "<|im_end|>",
    "build_info": "b1-4227c9b",
}
"""`n_ctx` is a slot's (the server's `-c` over `-np`)."""


@dataclass
class Behaviour:
    """What one `/completion` request gets."""

    pieces: tuple[str, ...] = ("Hello", " there", ".")
    echo: bool = False
    """Answer with the request's seed (after `pieces`): tells requests apart."""
    status: int = 200
    """Non-200: answer with this status and an error object, no stream."""
    headers: dict[str, str] = field(default_factory=dict)
    end: str = "stop"
    """How the stream ends: stop (a final event), truncate (closed without one), malformed (a
    bad event), error (an `error:` event, as llama-server reports a failure once its stream
    has begun), die (connection reset), stall (wait `stall_s`), endless (pieces until the
    client goes away)."""
    stall_s: float = 0.0
    piece_delay_s: float = 0.0
    raw: bytes | None = None
    """Write exactly these bytes as the whole response (status line included), then close."""


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: Any


def tokenize(body: dict[str, Any]) -> list[int]:
    """A toy tokenizer: a token per word, 1 for a word starting with a control marker when
    specials are parsed, BOS 0 when asked (llama-server's `add_special`; always for others)."""
    text = body.get("content", body.get("input", body.get("prompt")))
    special = body.get("parse_special", True)
    words = [1 if special and w.startswith("<|") else 100 + len(w) for w in str(text).split()]
    return ([0] if body.get("add_special", True) else []) + words


class ProtocolStub:
    """A llama-server protocol stub on 127.0.0.1, started and stopped by a fixture."""

    def __init__(self) -> None:
        self.script: deque[Behaviour] = deque()
        self.seen: list[Seen] = []
        self.active = 0
        self.max_active = 0
        self.tokenizer = True
        """False: no tokenizer endpoint (as Ollama or a hosted API)."""
        self.client_left = threading.Event()
        """Set when a client closed an endless stream (the server would stop generating)."""
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *_args: object) -> None:
                pass

            def _json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
                raw = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(raw)

            def _body(self) -> Any:
                size = int(self.headers.get("Content-Length") or 0)
                return json.loads(self.rfile.read(size)) if size else None

            def do_GET(self) -> None:
                stub.seen.append(Seen(self.path, dict(self.headers), None))
                if self.path == "/v1/models":
                    self._json(200, {"data": [{"id": "stub-model", "max_model_len": 1024}]})
                elif self.path == "/props":
                    self._json(200, PROPS)
                else:
                    self._json(404, {"error": {"code": 404, "message": "File Not Found"}})

            def do_POST(self) -> None:
                body = self._body()
                stub.seen.append(Seen(self.path, dict(self.headers), body))
                if self.path in ("/tokenize", "/extras/tokenize") and stub.tokenizer:
                    self._json(200, {"tokens": tokenize(body)})
                elif self.path in ("/completion", "/v1/completions"):
                    with stub._lock:
                        behaviour = stub.script.popleft() if stub.script else Behaviour()
                        stub.active += 1
                        stub.max_active = max(stub.max_active, stub.active)
                    if behaviour.echo:
                        behaviour = replace(
                            behaviour, pieces=(*behaviour.pieces, str(body["seed"]))
                        )
                    try:
                        self._complete(behaviour)
                    finally:
                        with stub._lock:
                            stub.active -= 1
                else:
                    self._json(404, {"error": {"code": 404, "message": "File Not Found"}})

            def _event(self, data: Any) -> None:
                text = data if isinstance(data, str) else json.dumps(data)
                self.wfile.write(f"data: {text}\n\n".encode())
                self.wfile.flush()

            def _piece(self, text: str) -> None:
                if self.path == "/completion":  # the requested slot (-1) until the end
                    self._event({"index": 0, "content": text, "stop": False, "id_slot": -1})
                else:
                    self._event({"choices": [{"index": 0, "text": text, "finish_reason": None}]})

            def _final(self, count: int) -> None:
                if self.path == "/completion":
                    self._event(
                        {
                            "index": 0,
                            "content": "",
                            "id_slot": 1,
                            "stop": True,
                            "stop_type": "eos",
                            "stopping_word": "",
                            "tokens_predicted": count,
                            "tokens_evaluated": 12,
                            "tokens_cached": 12 + count - 1,
                            "truncated": False,
                            "timings": {"prompt_n": 5, "predicted_n": count},
                        }
                    )
                    return
                self._event({"choices": [{"index": 0, "text": "", "finish_reason": "stop"}]})
                usage = {
                    "prompt_tokens": 12,
                    "completion_tokens": count,
                    "prompt_tokens_details": {"cached_tokens": 8},
                }
                self._event({"choices": [], "usage": usage})
                self._event("[DONE]")

            def _complete(self, b: Behaviour) -> None:
                if b.raw is not None:
                    with contextlib.suppress(OSError):
                        self.wfile.write(b.raw)
                    return
                if b.status != 200:
                    error = {"error": {"code": b.status, "message": f"stub says {b.status}"}}
                    self._json(b.status, error, b.headers)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                try:
                    for piece in b.pieces:
                        self._piece(piece)
                        time.sleep(b.piece_delay_s)
                    if b.end == "endless":
                        while True:
                            self._piece(" more")
                            time.sleep(0.02)
                except OSError:
                    stub.client_left.set()
                    return
                if b.end == "stop":
                    self._final(len(b.pieces))
                elif b.end == "malformed":
                    self._event("{this is not json")
                elif b.end == "error":
                    failure = {"code": 500, "message": "stub failed", "type": "server_error"}
                    self.wfile.write(f"error: {json.dumps(failure)}\n\n".encode())
                elif b.end == "stall":
                    time.sleep(b.stall_s)
                elif b.end == "die":  # reset, as a killed process's socket is
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
                    self.connection.close()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def completions(self) -> list[Seen]:
        return [s for s in self.seen if s.path in ("/completion", "/v1/completions")]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
