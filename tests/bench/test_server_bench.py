"""`bench --server` on a shortened run against the llama-server protocol stub: the chat runs
twice, with the server's prompt cache and then without it (what the requests ask for), and the
report reads the server's own counts; a local model is refused in one line."""

from __future__ import annotations

import json

from engine.remote.protocol_stub import ProtocolStub
from support import one_line_error, run_cli

from app.home import Home
from app.models import RemoteModel, add_remote


def test_the_server_bench_runs_the_chat_with_and_without_the_prompt_cache(
    lw_home: Home,
) -> None:
    stub = ProtocolStub()
    try:
        add_remote(lw_home, RemoteModel(name="stub", base_url=stub.url))
        ran = run_cli("bench", "--server", "--model", "stub", "--turns", "6", "--json")
        assert ran.returncode == 0, ran.stderr
        report = json.loads(ran.stdout)
        asked = [s.body["cache_prompt"] for s in stub.completions()]
    finally:
        stub.close()
    assert asked == [True] * 6 + [False] * 2  # the baseline generates on turns 1 and 5
    turns = report["turns"]
    assert [t["turn"] for t in turns] == [1, 2, 3, 4, 5, 6]
    assert all(t["new_tokens"] < t["prompt_tokens"] for t in turns[1:])
    assert [t["evaluated_uncached"] is not None for t in turns] == [1, 0, 0, 0, 1, 0]
    # the stub reports 5 evaluated tokens, whatever is asked: a count the server gave is used
    assert {t["evaluated"] for t in turns} == {5}
    assert report["server_reports_evaluated"] and report["cached_over_uncached"] == 1.0
    assert report["baseline_turns"] == [1, 5]
    local = one_line_error(run_cli("bench", "--server", "--turns", "2"))
    assert "give --model NAME of a remote model" in local
