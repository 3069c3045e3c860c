"""Hostile inference servers: whatever a server sends back (garbage bytes, wrong JSON types,
deep nesting, huge lines, broken HTTP, endless streams), a reply either completes or fails with
one `LoreweaverError` line naming the server: never another exception, never a hang.

In-process (nothing here needs a subprocess: no model is loaded), against the protocol stub,
for both wire protocols. Per-class counts are printed (`pytest -s`)."""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace

import pytest
from engine.remote.protocol_stub import Behaviour, ProtocolStub

from app.engine.base import Sampling
from app.engine.remote import engine as remote_engine
from app.engine.remote.engine import RemoteEngine
from app.engine.remote.resolve import remote_info
from app.errors import LoreweaverError
from app.models import RemoteModel

SIZES = (0, 1, 7, 300, 70_000, 1_200_000)
CASE_LIMIT_S = 20.0
SAMPLING = Sampling(seed=1, max_tokens=16)
SSE_HEAD = b"HTTP/1.0 200 OK\r\nContent-Type: text/event-stream\r\n\r\n"


def _bodies(rng: random.Random, size: int) -> Iterator[tuple[str, bytes]]:
    """Stream bodies of one size, by shape."""
    noise = rng.randbytes(size)
    yield "random bytes", noise
    yield "data: random bytes", b"data: " + noise + b"\n\n"
    yield "deep nesting", b"data: " + b"[" * size + b"\n\n"
    yield "huge content", b"data: " + json.dumps({"content": "a" * size}).encode() + b"\n\n"
    yield "no newline", b"data: {" + b"x" * size
    yield "control text", b"data: " + json.dumps({"content": "\x1b[2J\x00" * (size // 5)}).encode()
    yield "many empty events", b'data: {"content": "", "stop": false}\n\n' * (size // 30 + 1)
    yield "comments only", b": ping\n\n" * (size // 8 + 1)
    yield "not utf-8", b"data: " + bytes(rng.randrange(128, 256) for _ in range(size)) + b"\n\n"


WRONG_EVENTS = [
    5,
    "text",
    [],
    None,
    {},
    {"content": 5},
    {"content": None, "stop": True},
    {"content": "a", "stop": True, "stop_type": 5, "tokens_evaluated": "x", "timings": "y"},
    {"content": "a", "stop": True, "timings": {"prompt_n": -3}, "tokens_evaluated": -1},
    {"choices": 5},
    {"choices": [5]},
    {"choices": [{"text": 5}]},
    {"choices": [{"text": "a", "finish_reason": 7}], "usage": {"prompt_tokens": "x"}},
    {"choices": [], "usage": {"prompt_tokens": 3, "prompt_tokens_details": {"cached_tokens": 9}}},
    {"error": "boom"},
    {"error": {"message": "\n".join(["line"] * 50)}},
]

RAW_RESPONSES = [
    ("bad status line", b"HTTP/9 abc\r\n\r\n"),
    ("no status line", b"\r\n\r\n"),
    ("huge header", b"HTTP/1.0 200 OK\r\nX: " + b"a" * 200_000 + b"\r\n\r\n"),
    ("json, not a stream", b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{}"),
    ("chunked, broken", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab"),
    ("empty", b""),
]


def _cases() -> Iterator[tuple[str, bytes]]:
    rng = random.Random(19)
    for size in SIZES:
        for shape, body in _bodies(rng, size):
            yield shape, SSE_HEAD + body
    for event in WRONG_EVENTS:
        yield "wrong event", SSE_HEAD + b"data: " + json.dumps(event).encode() + b"\n\n"
    yield from RAW_RESPONSES


def _verdict(engine: RemoteEngine) -> str:
    """ok, error (one LoreweaverError line naming the server), escape or hang."""
    outcome: list[str] = []

    def run() -> None:
        try:
            "".join(engine.generate("hello", SAMPLING))
            outcome.append("ok")
        except LoreweaverError as exc:
            message = str(exc)
            named = "server 'hostile'" in message and "\n" not in message
            outcome.append("error" if named else f"escape: {message!r}")
        except BaseException as exc:  # what this test exists to catch
            outcome.append(f"escape: {type(exc).__name__}: {exc}")

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(CASE_LIMIT_S)
    return outcome[0] if outcome else "hang"


@pytest.mark.parametrize("api", ["llama-server", "openai"])
def test_no_server_reply_escapes_or_hangs(api: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(remote_engine, "BACKOFF_S", 0.001)
    stub = ProtocolStub()
    try:
        remote = RemoteModel(name="hostile", base_url=stub.url, api=api, template="chatml")
        engine = RemoteEngine(remote_info(remote), remote)
        engine.server = replace(engine.server, read_timeout=2.0)
        counts: dict[str, Counter[str]] = {}
        bad = []
        for shape, raw in _cases():
            stub.script.extend([Behaviour(raw=raw)] * (remote_engine.RETRIES + 1))
            verdict = _verdict(engine)
            stub.script.clear()
            counts.setdefault(shape, Counter())[verdict.split(":")[0]] += 1
            if verdict not in ("ok", "error"):
                bad.append((shape, len(raw), verdict))
    finally:
        stub.close()
    print(f"\nhostile server replies ({api})")
    for shape, tally in counts.items():
        print(f"  {shape:<20} " + ", ".join(f"{k} {v}" for k, v in sorted(tally.items())))
    assert not bad, bad
