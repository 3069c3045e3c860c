"""Adapters as a designer meets them: named in a sheet, found in the models folder, shown by
`prompt --explain` and `models`, and a missing or mismatched one is one clear line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import one_line_error, run_cli
from tinygguf import write_lora

from app.home import Home
from app.models import ModelInfo


def sheet(home: Home, adapters: str) -> None:
    (home.characters / "vox.yaml").write_text(
        f"name: Vox\ndescription: A bard.\nadapters:\n{adapters}", encoding="utf-8"
    )


def test_a_sheets_adapter_is_applied_and_shown(lw_home: Home, bundled_info: ModelInfo) -> None:
    write_lora(lw_home.models / "voice.gguf", bundled_info.path, std=0.05)
    sheet(lw_home, "  - file: voice.gguf\n    scale: 0.5\n")
    explained = run_cli("prompt", "vox", "--explain")
    assert explained.returncode == 0, explained.stderr
    assert "adapters: LoRA voice.gguf×0.5\n" in explained.stdout
    assert "model SmolLM2-135M-Instruct.Q4_1 + LoRA voice.gguf×0.5]" in explained.stderr
    listed = json.loads(run_cli("models", "--json").stdout)
    voice = next(m for m in listed if m["id"] == "voice")
    assert voice["adapter_for"] == "llama" and not voice["usable"]
    assert "LoRA adapter for llama" in run_cli("models").stdout


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("  - missing.gguf\n", "adapter file 'missing.gguf' not found"),
        ("  - file: qwen.gguf\n", "an adapter for 'qwen2' models"),
        ("  - file: voice.gguf\n    scale: 9\n", "scale"),
    ],
)
def test_a_bad_adapter_is_one_clear_line(
    lw_home: Home,
    bundled_info: ModelInfo,
    entry: str,
    expected: str,
) -> None:
    write_lora(lw_home.models / "qwen.gguf", bundled_info.path, arch="qwen2")
    write_lora(lw_home.models / "voice.gguf", bundled_info.path)
    sheet(lw_home, entry)
    line = one_line_error(run_cli("prompt", "vox", "--say", "hi"))
    assert expected in line
    assert Path(lw_home.characters / "vox.yaml").is_file()
