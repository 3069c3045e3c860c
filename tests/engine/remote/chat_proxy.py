"""A server with chat completions only: a proxy in front of a real OpenAI-compatible server
that answers `/v1/completions` with 404 and passes everything else through, streams included,
recording each request body. When its client leaves mid-stream it closes the upstream
connection, so the real server sees the client go, as it would without the proxy."""

from __future__ import annotations

import contextlib
import http.client
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Passed:
    path: str
    body: Any


class ChatOnlyProxy:
    def __init__(self, upstream: str) -> None:
        self.seen: list[Passed] = []
        self.client_left = threading.Event()
        target = urlsplit(upstream)
        assert target.hostname is not None, upstream
        host: str = target.hostname
        port = target.port
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *_args: object) -> None:
                pass

            def do_GET(self) -> None:
                self._forward("GET", None)

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                proxy.seen.append(Passed(self.path, json.loads(raw) if raw else None))
                if self.path == "/v1/completions":
                    error = json.dumps({"detail": "Not Found"}).encode()
                    self.send_response(404)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(error)))
                    self.end_headers()
                    self.wfile.write(error)
                    return
                self._forward("POST", raw)

            def _forward(self, method: str, raw: bytes | None) -> None:
                conn = http.client.HTTPConnection(host, port, timeout=120)
                try:
                    conn.request(method, self.path, body=raw, headers=dict(self.headers))
                    response = conn.getresponse()
                    self.send_response(response.status)
                    for key in ("Content-Type", "Content-Length"):
                        if response.getheader(key):
                            self.send_header(key, str(response.getheader(key)))
                    self.end_headers()
                    while line := response.readline():
                        try:
                            self.wfile.write(line)
                            self.wfile.flush()
                        except OSError:
                            proxy.client_left.set()
                            return
                finally:
                    conn.close()  # a client gone mid-stream: the real server sees it go

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def bodies(self, path: str) -> list[Any]:
        return [p.body for p in self.seen if p.path == path]

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.server.shutdown()
            self.server.server_close()
