"""`loreweaver characters new`: a blank sheet a designer fills in, as a user runs it."""

from __future__ import annotations

import json

import pytest
from support import one_line_error, run_cli

from app.home import Home
from app.sheets import library


def test_new_writes_a_valid_blank_sheet_that_lists_and_validates(lw_home: Home) -> None:
    made = run_cli("characters", "new", "mira_quill")
    assert made.returncode == 0, made.stderr
    path = lw_home.characters / "mira_quill.yaml"
    assert made.stdout.strip() == f"created {path}"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# A new character.") and "first_message:" in text
    sheet = library.load_sheet(path)
    assert sheet.name == "Mira Quill" and sheet.first_message == ""
    assert run_cli("characters", "validate", str(path)).returncode == 0
    listed = json.loads(run_cli("characters", "list", "--json").stdout)
    assert {"id": "mira_quill", "name": "Mira Quill", "sample": False}.items() <= next(
        row for row in listed if row["id"] == "mira_quill"
    ).items()


def test_new_with_a_name_keeps_it_as_typed(lw_home: Home) -> None:
    name = 'Old "Iron" Tam: the #1 smith'
    assert run_cli("characters", "new", "tam2", "--name", name).returncode == 0
    assert library.load_sheet(lw_home.characters / "tam2.yaml").name == name


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["brenna"], "already exists"),  # a sample's id: a new sheet would shadow it
        (["Bad Id"], "lowercase letters"),
        (["../escape"], "lowercase letters"),
        (["ok_id", "--name", "x" * 201], "name"),
        (["ok_id", "--name", "   "], None),  # blank: the id in words
    ],
)
def test_bad_ids_and_names_are_one_clear_line_and_write_nothing(
    lw_home: Home, args: list[str], said: str | None
) -> None:
    result = run_cli("characters", "new", *args)
    if said is None:
        assert result.returncode == 0
        assert library.load_sheet(lw_home.characters / "ok_id.yaml").name == "Ok Id"
        return
    assert said in one_line_error(result)
    assert sorted(p.name for p in lw_home.characters.iterdir()) == []
