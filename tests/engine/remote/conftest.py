"""Servers for the remote engine's tests, started and stopped here: `openai_server` (a real
llama-cpp-python server, one per module, so the model loads once per module) and `stub` (the
llama-server protocol stub for failure paths, one per test)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from engine.remote.protocol_stub import ProtocolStub
from engine.remote.servers import RunningServer, start_openai_server


@pytest.fixture(scope="module")
def openai_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    server = start_openai_server(tmp_path_factory.mktemp("server") / "server.log")
    yield server
    server.stop()


@pytest.fixture
def stub() -> Iterator[ProtocolStub]:
    server = ProtocolStub()
    yield server
    server.close()
