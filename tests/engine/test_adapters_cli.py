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
    assert "adapters: LoRA voice.gguf×0.5 (sheet)\n" in explained.stdout
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


MODEL = "SmolLM2-135M-Instruct.Q4_1"


def test_a_model_entry_is_saved_shown_applied_before_the_sheets_and_cleared(
    lw_home: Home,
    bundled_info: ModelInfo,
) -> None:
    write_lora(lw_home.models / "voice.gguf", bundled_info.path, std=0.05)
    write_lora(lw_home.models / "style.gguf", bundled_info.path, std=0.05, seed=3)
    sheet(lw_home, "  - style.gguf\n")
    saved = run_cli("models", "adapters", MODEL, "voice.gguf:0.5")
    assert saved.returncode == 0, saved.stderr
    assert f"{MODEL}: LoRA voice.gguf×0.5, under every character" in saved.stdout
    shown = run_cli("models", "adapters", MODEL).stdout
    assert f"voice.gguf×0.5  {lw_home.models / 'voice.gguf'}" in shown
    explained = run_cli("prompt", "vox", "--explain")
    assert explained.returncode == 0, explained.stderr
    assert "adapters: LoRA voice.gguf×0.5 (model entry), style.gguf×1 (sheet)\n" in explained.stdout
    (lw_home.characters / "kit.yaml").write_text("name: Kit\n", encoding="utf-8")
    group = run_cli("prompt", "vox", "kit", "--explain")  # each member's own set
    assert group.returncode == 0, group.stderr
    assert [line for line in group.stdout.splitlines() if line.startswith("adapters:")] == [
        "adapters: LoRA voice.gguf×0.5 (model entry), style.gguf×1 (sheet)",
        "adapters: LoRA voice.gguf×0.5 (model entry)",
    ]
    listed = json.loads(run_cli("models", "--json").stdout)
    assert next(m for m in listed if m["id"] == MODEL)["adapters"] == [
        {"file": "voice.gguf", "scale": 0.5}
    ]
    assert "voice.gguf×0.5" in run_cli("models").stdout
    cleared = run_cli("models", "adapters", MODEL, "--clear")
    assert cleared.returncode == 0, cleared.stderr
    assert "model_adapters: {}" in lw_home.settings_file.read_text(encoding="utf-8")


def test_a_bad_model_entry_is_one_line_and_changes_no_setting(
    lw_home: Home,
    bundled_info: ModelInfo,
) -> None:
    write_lora(lw_home.models / "voice.gguf", bundled_info.path, std=0.05)
    write_lora(lw_home.models / "qwen.gguf", bundled_info.path, arch="qwen2")
    write_lora(lw_home.models / "model.gguf", bundled_info.path, general_type="model")
    assert run_cli("models", "adapters", MODEL, "voice.gguf").returncode == 0
    before = lw_home.settings_file.read_bytes()
    cases = {
        ("missing.gguf",): "adapter file 'missing.gguf' not found",
        ("model.gguf",): "model.gguf: unusable adapter: not an adapter",
        ("qwen.gguf",): "qwen.gguf: unusable adapter: an adapter for 'qwen2' models",
        ("voice.gguf",) * 9: "9 adapters named; at most 8",
        ("voice.gguf", "voice.gguf:2"): "the same adapter is named twice",
        ("voice.gguf:9",): "adapter 'voice.gguf:9': scale",
        ("voice.gguf", "--clear"): "give adapter files or --clear, not both",
    }
    for files, expected in cases.items():
        line = one_line_error(run_cli("models", "adapters", MODEL, *files))
        assert expected in line, (files, line)
        assert lw_home.settings_file.read_bytes() == before, files
    assert "unknown model" in one_line_error(run_cli("models", "adapters", "nope", "voice.gguf"))
