"""`loreweaver bench`: the streaming comparison end to end, and how other benchmarks plug in."""

from __future__ import annotations

import json
import sys
import types
from typing import Any

import pytest
from support import one_line_error, run_cli

import app.bench
from app.bench import Bench, BenchOptions
from app.cli import main
from app.models import ModelInfo

KEYS = (
    "app_tokens_per_s",
    "raw_tokens_per_s",
    "tokens_per_s_ratio",
    "app_first_token_s",
    "raw_first_token_s",
    "first_token_ratio",
    "peak_rss_mb",
)


def test_bench_json_smoke() -> None:
    result = run_cli("bench", "--json", "--runs", "1", "--max-tokens", "16")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    figures = json.loads(result.stdout)
    for key in KEYS:
        assert isinstance(figures[key], (int, float)) and figures[key] > 0, key
    assert figures["completion_tokens"] == figures["raw_completion_tokens"] == 16
    assert figures["prompt_tokens"] > 400  # the ~500-token role-play prompt
    assert figures["runs"] == 1


def test_bad_numbers_are_one_line_errors() -> None:
    line = one_line_error(run_cli("bench", "--runs", "0"))
    assert "--runs" in line


class _FakeReport:
    def __init__(self, info: ModelInfo, options: BenchOptions) -> None:
        self.figures = {"model": info.id, "runs": options.runs, "max_tokens": options.max_tokens}

    def as_dict(self) -> dict[str, Any]:
        return self.figures

    def render(self) -> str:
        return f"fake bench on {self.figures['model']}"


def test_a_benchmark_module_plugs_in_with_its_own_flag(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    module = types.ModuleType("lw_fake_bench")
    monkeypatch.setattr(module, "run", _FakeReport, raising=False)
    monkeypatch.setitem(sys.modules, "lw_fake_bench", module)
    monkeypatch.setattr(
        app.bench,
        "BENCHES",
        (*app.bench.BENCHES, Bench("fake", "lw_fake_bench", "--fake", "a fake")),
    )
    assert main(["bench", "--fake", "--json", "--runs", "3", "--max-tokens", "5"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures == {"model": "SmolLM2-135M-Instruct.Q4_1", "runs": 3, "max_tokens": 5}
    assert main(["bench", "--fake"]) == 0
    assert "fake bench on SmolLM2" in capsys.readouterr().out
