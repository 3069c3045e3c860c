"""`run --parallel 4` against a real OpenAI-compatible server on 127.0.0.1 (llama-cpp-python's
own, on the bundled model) stores and exports exactly what `--parallel 1` does: seeds come from
the node's place, results are applied in a fixed order."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from engine.remote.servers import RunningServer, start_openai_server
from scene_support import SCENES, cli, files, make_home


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    # one token per batch: a prompt's numbers then do not depend on how much of it the server
    # had cached from the request before, which the order of parallel requests changes
    log = tmp_path_factory.mktemp("server") / "server.log"
    running = start_openai_server(log, "--n_batch", "1", "--n_ubatch", "1")
    yield running
    running.stop()


def test_parallel_four_gives_what_parallel_one_gives(
    server: RunningServer, tmp_path: Path, bundled_verdict: Any
) -> None:
    home = make_home(tmp_path / "home", bundled_verdict)
    added = cli(home, "models", "add-remote", "smol", "--base-url", server.url, "--api", "openai",
                "--template", "chatml")  # fmt: skip
    assert added.returncode == 0, added.stderr
    scene = SCENES / "forge_haggle.yaml"
    outs = {}
    for parallel in ("1", "4"):
        done = cli(home, "run", str(scene), "-o", str(tmp_path / parallel), "--model", "smol",
                   "--parallel", parallel, "--format", "json,yarn,ink")  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "note:" not in done.stderr  # a server model takes --parallel as asked
        outs[parallel] = files(tmp_path / parallel)
    assert outs["1"] == outs["4"]
    assert len(outs["4"]) == 3
    assert b'"model": "smol"' in outs["4"]["forge_haggle.json"]
