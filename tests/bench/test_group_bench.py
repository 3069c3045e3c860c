"""`bench --group` on a shortened run: with a KV line per speaker every turn evaluates only what
is new for its speaker; with the cache reset at each switch, later turns re-read everything.
Timings are only reported by the bench."""

from __future__ import annotations

from pathlib import Path

from app.bench.group import run_group
from app.home import Home
from app.models import resolve_model


def test_a_shortened_group_bench_keeps_a_line_per_speaker(tmp_path: Path) -> None:
    info = resolve_model(Home(tmp_path), None)
    report = run_group(info, turns=9, n_ctx=4096, n_threads=2)
    assert report.lines.within >= 0.9
    # the first turn of each of the 3 speakers has nothing cached of its own; the 6 others
    # re-read the whole prompt after a reset
    assert report.reset.within <= 4 / 9
    assert sum(report.lines.evaluated) * 2 < sum(report.reset.evaluated)
    figures = report.as_dict()
    assert figures["lines"]["turns"] == figures["reset"]["turns"] == 9
    assert figures["first_token_ratio_reset_vs_lines"] is not None
