"""The README's quick start and checks are what CI runs: the two must not drift apart."""

from __future__ import annotations

import re

from support import REPO


def _ci_commands() -> dict[str, str]:
    script = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    return dict(re.findall(r"^([A-Z]+)='(.+)'$", script, flags=re.MULTILINE))


def test_ci_runs_the_readme_commands_word_for_word() -> None:
    commands = _ci_commands()
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)```", readme, flags=re.DOTALL)
    lines = {line.strip() for block in blocks for line in block.splitlines()}
    assert set(commands) == {"INSTALL", "LINT", "FORMAT", "TYPES", "TEST"}
    for name, command in commands.items():
        assert command in lines, f"README does not show {name}: {command}"
    assert "loreweaver" in lines


def test_models_folder_keeps_weights_out_of_git() -> None:
    ignore = (REPO / "models" / ".gitignore").read_text(encoding="utf-8").split()
    assert "*" in ignore and "!README.md" in ignore
