"""`bench --busy` on a shortened run: each setting runs in a child with its own environment and
reports idle and busy figures; timings themselves are only reported by the bench."""

from __future__ import annotations

from pathlib import Path

from support import run_cli

from app.bench.busy import Setting, run_busy, settings_for
from app.home import Home
from app.models import resolve_model

FIELDS = {
    "name",
    "n_threads",
    "n_threads_batch",
    "env",
    "adapt",
    "idle_tokens_per_s",
    "busy_tokens_per_s",
    "busy_ratio",
    "idle_vs_baseline",
    "idle_first_token_s",
    "busy_first_token_s",
    "nice",
}


def test_the_settings_cover_cores_and_cores_minus_one_and_the_wait_policy() -> None:
    grid = settings_for(4)
    assert (grid[0].n_threads, grid[0].env) == (4, {})  # the default is the baseline
    assert {s.n_threads for s in grid} == {3, 4}
    assert any(s.env.get("OMP_WAIT_POLICY") == "PASSIVE" for s in grid)
    assert all(s.n_threads >= 1 for s in settings_for(1))


def test_a_short_busy_bench_reports_every_field(tmp_path: Path) -> None:
    info = resolve_model(Home(tmp_path), None)
    # both sleep: a spinning setting can stall on a loaded machine; this checks the fields
    sleep = {"OMP_WAIT_POLICY": "PASSIVE"}
    settings = [Setting("two", 2, 2, sleep), Setting("one decode thread", 1, 2, sleep)]
    report = run_busy(info, runs=1, max_tokens=6, settings=settings)
    figures = report.as_dict()
    assert {"model", "cores", "load_before", "load_after", "results"} <= set(figures)
    assert len(figures["load_before"]) == 3
    assert [r["name"] for r in figures["results"]] == ["two", "one decode thread"]
    for result in figures["results"]:
        assert set(result) == FIELDS
        assert result["idle_tokens_per_s"] > 0 and result["busy_tokens_per_s"] > 0, result
    assert figures["results"][0]["idle_vs_baseline"] == 1.0
    assert figures["results"][1]["env"] == {"OMP_WAIT_POLICY": "PASSIVE"}
    assert report.render().row_count == 2


def test_the_bench_command_offers_busy_and_a_short_run() -> None:
    shown = run_cli("bench", "--help")
    assert shown.returncode == 0 and "--busy" in shown.stdout and "--runs" in shown.stdout
