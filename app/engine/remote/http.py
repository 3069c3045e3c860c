"""HTTP to an inference server: JSON requests, SSE streams, and failures as one line each.

Stdlib `http.client` only: one connection per request (a stream owns its socket, so closing it
is how a cancel reaches the server), no new dependency for the default, fully offline install.
Every failure becomes a `RemoteError` naming the server and what to do; `retryable` marks
those that are safe to try again because the server produced nothing yet.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from app.engine.remote.sse import sse_data
from app.errors import LoreweaverError

CONNECT_TIMEOUT = 10.0
"""Seconds to open a connection."""
MAX_LINE = 1 << 20
"""Longest stream line read (an event far beyond any token's is a broken server)."""
MAX_BODY = 16 << 20
"""Largest JSON response read (`/props` with a long template, a long token list)."""
READ_TIMEOUT = 120.0
"""Seconds to wait for a response, or between two events of a stream (a long prompt on a busy
server is evaluated before the first token, so this is generous)."""


class RemoteError(LoreweaverError):
    """A server failure; `retryable` when nothing was produced and trying again is safe."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = False,
        retry_after: float = 0,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status
        """The HTTP status that caused it, if any."""


_STATUS_ADVICE = {
    400: ("rejected the request", "check the model's settings (`loreweaver models`)"),
    401: ("refused the API key", "check the key in the variable named by --api-key-env"),
    403: ("refused access", "check the API key's permissions"),
    404: ("has no such endpoint or model", "check --base-url, --api and --model"),
    413: ("refused a request this large", "shorten the prompt or raise the server's limit"),
    429: ("is rate-limiting requests", "wait and try again, or lower --parallel"),
}


@dataclass(frozen=True)
class Server:
    """Where requests go: a name for messages, a base URL, and headers (the API key)."""

    name: str
    base_url: str
    api_key_env: str | None = None
    connect_timeout: float = CONNECT_TIMEOUT
    read_timeout: float = READ_TIMEOUT

    def _parts(self) -> tuple[str, str, int | None, str]:
        url = urlsplit(self.base_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise LoreweaverError(
                f"server {self.name!r}: base URL {self.base_url!r} is not http(s)"
            )
        return url.scheme, url.hostname, url.port, url.path.rstrip("/")

    def headers(self) -> dict[str, str]:
        """Request headers; the key is read from the environment now and never stored."""
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key_env:
            key = os.environ.get(self.api_key_env)
            if not key:
                raise RemoteError(
                    f"server {self.name!r} needs an API key: set the environment variable "
                    f"{self.api_key_env}"
                )
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def label(self) -> str:
        return f"server {self.name!r} ({self.base_url})"

    def connect(self) -> tuple[http.client.HTTPConnection, str]:
        """An open connection and the path prefix to put before each endpoint."""
        scheme, host, port, prefix = self._parts()
        conn: http.client.HTTPConnection
        if scheme == "https":
            conn = http.client.HTTPSConnection(
                host, port, timeout=self.connect_timeout, context=ssl.create_default_context()
            )
        else:
            conn = http.client.HTTPConnection(host, port, timeout=self.connect_timeout)
        try:
            conn.connect()
        except socket.gaierror:
            conn.close()
            raise RemoteError(
                f"{self.label()}: the host name does not resolve; check --base-url"
            ) from None
        except TimeoutError:
            conn.close()
            raise RemoteError(
                f"{self.label()}: no answer within {self.connect_timeout:g} s; is it up?",
                retryable=True,
            ) from None
        except ConnectionRefusedError:
            conn.close()
            raise RemoteError(
                f"{self.label()}: connection refused; start the server or fix --base-url",
                retryable=True,
            ) from None
        except OSError as exc:
            conn.close()
            raise RemoteError(
                f"{self.label()}: cannot connect ({exc.strerror or exc})", retryable=True
            ) from None
        assert conn.sock is not None
        conn.sock.settimeout(self.read_timeout)
        return conn, prefix

    def _send(
        self, method: str, path: str, body: Any
    ) -> tuple[http.client.HTTPConnection, socket.socket, http.client.HTTPResponse]:
        """The connection, its socket (kept: a response that ends with the connection takes
        the socket from `conn`), and the response, once it has a success status."""
        headers = self.headers()
        conn, prefix = self.connect()
        assert conn.sock is not None
        sock: socket.socket = conn.sock
        data = None if body is None else json.dumps(body).encode("utf-8")
        try:
            conn.request(method, prefix + path, body=data, headers=headers)
            response = conn.getresponse()
        except TimeoutError:
            conn.close()
            raise RemoteError(
                f"{self.label()}: no response within {self.read_timeout:g} s; the server may be "
                "overloaded"
            ) from None
        except (ConnectionError, http.client.HTTPException, OSError) as exc:
            conn.close()
            raise RemoteError(
                f"{self.label()}: the connection failed before a response ({exc}); "
                "check that the server is running",
                retryable=True,
            ) from None
        if response.status >= 400:
            detail = _error_detail(response)
            conn.close()
            raise self._status_error(response.status, detail, response.getheader("Retry-After"))
        return conn, sock, response

    def _status_error(self, status: int, detail: str, retry_after: str | None) -> RemoteError:
        what, advice = _STATUS_ADVICE.get(
            status,
            ("failed", "see the server's log")
            if status >= 500
            else ("refused the request", "check the model's settings"),
        )
        tail = f": {detail}" if detail else ""
        try:
            wait = float(retry_after) if retry_after else 0.0
        except ValueError:
            wait = 0.0
        return RemoteError(
            f"{self.label()} {what} (HTTP {status}{tail}); {advice}",
            retryable=status in (429, 502, 503, 504),
            retry_after=wait,
            status=status,
        )

    def get_json(self, path: str) -> Any:
        return self.request_json("GET", path, None)

    def request_json(self, method: str, path: str, body: Any) -> Any:
        conn, _sock, response = self._send(method, path, body)
        try:
            raw = response.read(MAX_BODY + 1)
            if len(raw) > MAX_BODY:
                raise RemoteError(f"{self.label()} answered {path} with over {MAX_BODY} bytes")
        except (TimeoutError, OSError, http.client.HTTPException) as exc:
            raise RemoteError(f"{self.label()}: the response broke off ({exc})") from None
        finally:
            conn.close()
        try:
            return json.loads(raw)
        except (ValueError, RecursionError):
            raise RemoteError(
                f"{self.label()} answered {path} with something that is not JSON; "
                "check --base-url and --api"
            ) from None

    def stream(self, path: str, body: Any, cancel: threading.Event) -> Iterator[dict[str, Any]]:
        """Send the request now (a refusal raises here), then the JSON objects of its
        server-sent event stream, until `[DONE]` or the stream ends.

        A set `cancel` closes the socket (from a watcher thread), which is how the server learns
        to stop; the iterator then ends quietly. A break-off or bad event raises `RemoteError`.
        """
        conn, sock, response = self._send("POST", path, body)
        return self._events(conn, sock, response, cancel)

    def _events(
        self,
        conn: http.client.HTTPConnection,
        sock: socket.socket,
        response: http.client.HTTPResponse,
        cancel: threading.Event,
    ) -> Iterator[dict[str, Any]]:
        done = threading.Event()
        watcher = threading.Thread(
            target=_close_on_cancel, args=(sock, cancel, done), name="remote-cancel", daemon=True
        )
        watcher.start()
        try:
            for data, failed in sse_data(_lines(response, self, cancel)):
                if data == "[DONE]" and not failed:
                    return
                try:
                    event = json.loads(data)
                except (ValueError, RecursionError):
                    if failed:
                        event = {"error": data}
                    else:
                        raise RemoteError(
                            f"{self.label()} sent a malformed event ({data[:60]!r}); "
                            "check --api matches the server"
                        ) from None
                if not isinstance(event, dict):
                    raise RemoteError(f"{self.label()} sent an event that is not an object")
                if failed or "error" in event:
                    raise RemoteError(f"{self.label()} reported an error: {_message(event)}")
                yield event
        finally:
            done.set()
            response.close()
            conn.close()
            sock.close()


def _close_on_cancel(sock: socket.socket, cancel: threading.Event, done: threading.Event) -> None:
    """Shut the socket down once `cancel` is set: the blocked read ends, the server sees the
    client leave and stops generating."""
    while not done.is_set():
        if cancel.wait(0.05):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            return


def _lines(
    response: http.client.HTTPResponse, server: Server, cancel: threading.Event
) -> Iterator[bytes]:
    while True:
        try:
            line = response.readline(MAX_LINE + 1)
        except TimeoutError:
            raise RemoteError(
                f"{server.label()} sent nothing for {server.read_timeout:g} s mid-reply; "
                "the server may be overloaded or stuck"
            ) from None
        except (OSError, http.client.HTTPException, ValueError) as exc:
            if cancel.is_set():
                return
            raise RemoteError(
                f"{server.label()}: the reply broke off ({type(exc).__name__}); "
                "the server may have stopped, check it and try again"
            ) from None
        if not line:
            return
        if len(line) > MAX_LINE:
            raise RemoteError(f"{server.label()} sent a stream line over {MAX_LINE} bytes")
        yield line


def _error_detail(response: http.client.HTTPResponse) -> str:
    try:
        raw = response.read(4096)
        data = json.loads(raw)
    except (ValueError, OSError, http.client.HTTPException):
        return ""
    return _message(data) if isinstance(data, dict) else ""


def _message(data: dict[str, Any]) -> str:
    """The error text in either API's error object, shortened to one line."""
    error = data.get("error", data)
    text = error.get("message", "") if isinstance(error, dict) else str(error)
    return " ".join(str(text).split())[:200]
