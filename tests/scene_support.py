"""Scene-run test helpers: a home of its own for module-scoped runs (the autouse `lw_home` is
per test), the CLI run against it, and every export checked by its format's own parser."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
from dialogue_readers import (
    expected,
    ink_difference,
    ink_transcripts,
    played,
    read_godot,
    read_renpy,
    read_twee,
    read_yarn,
    without_ended,
)
from dialogue_support import run_node
from support import REPO

from app.export import FORMATS, Dialogue
from app.export.canonical import schema
from app.export.graph import speaker_id
from app.home import ENV_VAR, Home

SCENES = REPO / "scenes"


def make_home(root: Path, verdict: tuple[Path, str | None] | None) -> Home:
    from app.models import probe

    home = Home(root).ensure()
    if verdict is not None:
        probe.remember(home, *verdict)
    return home


def cli(home: Home, *args: str, timeout: float = 3600) -> subprocess.CompletedProcess[str]:
    """`loreweaver ARGS…` in a subprocess against `home`."""
    env = {**os.environ, ENV_VAR: str(home.root), "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True, text=True, timeout=timeout, cwd=REPO, env=env,
    )  # fmt: skip


def files(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def check_with_parsers(dialogue: Dialogue, folder: Path, name: str, npm_tools: Path) -> None:
    """Every format of a run read back by its own parser (or strict reader) as the tree."""
    text = {
        form: (folder / f"{name}.{ext}").read_text("utf-8") for form, (ext, _) in FORMATS.items()
    }
    jsonschema.validate(json.loads(text["json"]), schema())
    played_ink = run_node("ink_play.cjs", npm_tools, "inkjs", folder / f"{name}.ink")
    assert played_ink["errors"] == [] and played_ink["warnings"] == []
    assert ink_difference(ink_transcripts(dialogue), played(played_ink)) == ""
    story = run_node("twee_parse.mjs", npm_tools, "extwee", folder / f"{name}.twee")
    assert read_twee(story) == expected(dialogue)
    assert read_yarn(text["yarn"]) == without_ended(expected(dialogue, speaker=speaker_id))
    assert read_renpy(text["renpy"]) == expected(dialogue)
    assert read_godot(text["godot"]) == expected(dialogue, speaker=speaker_id)
    rows = list(csv.reader(io.StringIO(text["csv"])))
    assert len(rows) - 1 == sum(len(line.variants) for line in dialogue.lines())
    assert all(row[3] == f"{name}.yarn" for row in rows[1:])
