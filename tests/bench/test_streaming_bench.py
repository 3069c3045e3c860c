"""`loreweaver bench --json` runs the app and raw llama-cpp-python and reports ratios."""

from __future__ import annotations

import json

from support import run_cli

KEYS = ("app_tokens_per_s", "raw_tokens_per_s", "tokens_per_s_ratio", "app_first_token_s",
        "raw_first_token_s", "peak_rss_mb")


def test_bench_json_smoke() -> None:
    result = run_cli("bench", "--json", "--runs", "1", "--max-tokens", "16")
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    for key in KEYS:
        assert isinstance(figures[key], (int, float)) and figures[key] > 0, key
    assert figures["completion_tokens"] == 16
