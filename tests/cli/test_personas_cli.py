"""`loreweaver personas` and `--persona`, as real processes."""

from __future__ import annotations

import json

from support import one_line_error, run_cli


def test_personas_commands_and_prompt_use_them() -> None:
    assert "no saved personas" in run_cli("personas", "list").stdout
    assert run_cli("personas", "add", "Wren", "A courier with a limp.", "--default").returncode == 0
    assert (
        run_cli("personas", "add", "Sir Bob", "A knight.", "--character", "brenna").returncode == 0
    )
    listed = run_cli("personas", "list").stdout.splitlines()
    assert listed == ["* Wren: A courier with a limp.", "  Sir Bob [for brenna]: A knight."]
    assert "A knight." in run_cli("prompt", "brenna", "--say", "Hi.").stdout  # locked to brenna
    assert "A courier with a limp." in run_cli("prompt", "kestrel", "--say", "Hi.").stdout
    chosen = run_cli("prompt", "kestrel", "--say", "Hi.", "--persona", "sir bob").stdout
    assert "A knight." in chosen and "A courier" not in chosen
    assert run_cli("personas", "default", "--none").stdout.strip() == "no default persona"
    assert run_cli("personas", "remove", "wren").stdout.strip() == "removed persona 'Wren'"
    rows = json.loads(run_cli("personas", "list", "--json").stdout)
    assert rows == [
        {"name": "Sir Bob", "description": "A knight.", "character": "brenna", "default": False}
    ]


def test_persona_errors_are_one_line() -> None:
    assert "no persona named 'Ghost'" in one_line_error(
        run_cli("prompt", "brenna", "--persona", "Ghost")
    )
    assert "not both" in one_line_error(run_cli("prompt", "brenna", "--persona", "A", "-u", "B"))
    assert "needs a name" in one_line_error(run_cli("personas", "add", "   "))
    assert "no persona named" in one_line_error(run_cli("personas", "default", "Ghost"))
