"""`loreweaver bench --tui`: the terminal app through Pilot against headless, end to end."""

from __future__ import annotations

import json

from support import run_cli


def test_tui_bench_json_smoke() -> None:
    result = run_cli("bench", "--tui", "--json", "--runs", "1", "--max-tokens", "64")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    figures = json.loads(result.stdout)
    assert figures["runs"] == 1
    assert figures["completion_tokens"] == 64
    assert figures["prompt_tokens"] > 500  # the sheet, its world lorebook and the line: one prompt
    for key in ("ui_tokens_per_s", "typing_tokens_per_s", "headless_tokens_per_s"):
        assert figures[key] > 0, key
    for key in ("tokens_per_s_ratio", "typing_tokens_per_s_ratio"):
        assert 0 < figures[key] < 2, key  # a UI run against the headless run next to it
        low, high = figures[f"{key}_range"]
        assert low == high == figures[key]  # one run: one ratio
    # Keys typed while the reply streamed, each one seen by the input box.
    assert figures["key_presses"] >= 1
    assert 0 < figures["key_latency_ms_median"] <= figures["key_latency_ms_max"] < 5000
    assert 0 < figures["first_screen_s"] < 30
    assert figures["model_loading_at_first_screen"] is True
