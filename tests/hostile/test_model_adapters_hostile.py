"""Hostile `models adapters` input: FILE[:SCALE] arguments and hand-edited `model_adapters`
settings, generated as shapes × sizes. Every case is accepted or refused in one line, never a
hang, crash or traceback; a refused entry leaves the settings file byte for byte as it was, and
an accepted one reads back.

Each case runs in a home of its own (so a case cannot see another's settings), all of them in
one limited child (`run_batch`). Per-class counts are printed (`pytest -s`).
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from hostile.harness import Outcome, run_batch
from tinygguf import write_lora

from app.home import ENV_VAR, Home
from app.models import bundled_model_path, probe
from app.settings import load_settings

MODEL = "SmolLM2-135M-Instruct.Q4_1"
SETTINGS = "n_threads: 1\nmodel_adapters:\n  other: [kept.gguf]\n"


def _names(folder: Path) -> list[str]:
    """FILE arguments: odd characters and lengths, colons and scales, paths that are not files."""
    (folder / "dir.gguf").mkdir()
    (folder / "empty.gguf").write_bytes(b"")
    (folder / "junk.gguf").write_bytes(os.urandom(4096))
    (folder / "loop.gguf").symlink_to(folder / "loop.gguf")
    os.mkfifo(folder / "fifo.gguf")  # opening it would block: it must never be read
    bodies = ["voice.gguf", "é voice.gguf", "a\tb.gguf", "a\x1b[31mred.gguf", "\u202egguf.txt"]
    bodies += ["x" * n + ".gguf" for n in (200, 255, 4090, 5000)]
    scales = ["", ":0", ":-4", ":4", ":4.0001", ":nan", ":inf", ":-inf", ":1e309", ":0x10", ":"]
    names = [body + scale for body in bodies for scale in scales]
    names += [":", "::", ":1", "~", "~/", "/", ".", "..", "/dev/null", "/proc/self/mem"]
    names += [str(folder / n) for n in ("dir.gguf", "empty.gguf", "junk.gguf", "loop.gguf")]
    names += [str(folder / "fifo.gguf"), str(folder / "voice.gguf") + ":0.5"]
    return names


def _settings_texts() -> list[str]:
    """Hand-edited `model_adapters` values of every shape, small and large."""
    values = ["5", "[1, 2]", "null", "''", "{x: 5}", "{x: [5]}", "{x: [{}]}", "{'': [a.gguf]}"]
    values += ["{x: [{file: a.gguf, scale: .nan}]}", "{x: [{file: a.gguf, extra: 1}]}"]
    values += [f"{{{MODEL}: [{', '.join(['a.gguf'] * n)}]}}" for n in (8, 9, 1000)]
    values += ["{" + ", ".join(f"m{n}: [a.gguf]" for n in range(n)) + "}" for n in (200, 201)]
    values += [f"{{{MODEL}: [{'y' * 5000}.gguf]}}", f"{{{MODEL}: [gone.gguf]}}"]
    return [f"model_adapters: {value}\n" for value in values]


def _home(root: Path, settings: str, verdict: tuple[Path, str | None]) -> Home:
    home = Home(root).ensure()
    probe.remember(home, *verdict)
    home.settings_file.write_text(settings, encoding="utf-8")
    return home


def test_hostile_adapter_arguments_and_entries(tmp_path: Path, bundled_verdict) -> None:  # type: ignore[no-untyped-def]
    base = bundled_model_path()
    assert base is not None and bundled_verdict is not None
    folder = tmp_path / "files"
    folder.mkdir()
    write_lora(folder / "voice.gguf", base)
    cases: list[tuple[str, list[str], Home]] = []
    for number, name in enumerate(_names(folder)):
        home = _home(tmp_path / f"arg{number}", SETTINGS, bundled_verdict)
        (home.models / "voice.gguf").symlink_to(folder / "voice.gguf")
        cases.append(("argument", ["models", "adapters", MODEL, name], home))
    for number, text in enumerate(_settings_texts()):
        home = _home(tmp_path / f"set{number}", text, bundled_verdict)
        cases.append(("settings", ["models", "adapters", MODEL], home))
        cases.append(("settings", ["models", "--json"], home))
    outcomes = run_batch(
        [(args, {ENV_VAR: str(home.root)}) for _, args, home in cases], timeout=300
    )
    counts: Counter[tuple[str, str]] = Counter()
    for (kind, args, home), outcome in zip(cases, outcomes, strict=True):
        verdict = outcome.verdict()
        counts[kind, verdict] += 1
        assert verdict in {"ok", "error"}, outcome.describe()
        _check(kind, args, home, outcome)
    print(dict(sorted(counts.items())))
    assert counts["argument", "ok"] and counts["argument", "error"]  # both ways were taken


def _check(kind: str, args: list[str], home: Home, outcome: Outcome) -> None:
    if kind != "argument":
        return
    if outcome.verdict() == "error":
        assert home.settings_file.read_text(encoding="utf-8") == SETTINGS, outcome.describe()
    else:
        saved = load_settings(home).model_adapters
        assert len(saved[MODEL]) == 1 and "other" in saved, outcome.describe()
