"""`loreweaver characters …` as a user runs it: real processes, real files, hostile input."""

from __future__ import annotations

import base64
import json
import zlib
from pathlib import Path

import pytest
from support import REPO, one_line_error, run_cli

from app.home import Home

CARD_V2 = {
    "spec": "chara_card_v2",
    "spec_version": "2.0",
    "data": {
        "name": "Mira Quill",
        "description": "{{char}} sells maps. {% raw %}{{7*7}}",
        "first_mes": "Maps! Fresh maps!",
        "mes_example": "",
        "personality": "",
        "scenario": "",
        "creator_notes": "",
        "system_prompt": "",
        "post_history_instructions": "",
        "alternate_greetings": ["Lost again?"],
        "tags": ["merchant"],
        "creator": "t",
        "character_version": "1",
        "extensions": {"talkativeness": "0.5", "tool_x": {"keep": [1, 2]}},
    },
}


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_list_json_has_ids_names_and_files() -> None:
    result = run_cli("characters", "list", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    ids = {row["id"] for row in rows}
    assert {"brenna", "old_tam", "kestrel"} <= ids
    assert all(Path(row["path"]).is_file() and row["name"] for row in rows)


def test_every_sample_validates() -> None:
    samples = sorted(str(p) for p in (REPO / "characters").glob("*.yaml"))
    result = run_cli("characters", "validate", *samples)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("ok ") == len(samples) >= 3


def test_validate_reads_cards_as_well_as_sheets(tmp_path: Path, lw_home: Home) -> None:
    """PNG, CHARX and JSON V1/V2/V3 cards are checked as `import` reads them; nothing is stored."""
    v2 = tmp_path / "mira.json"
    v2.write_text(json.dumps(CARD_V2), encoding="utf-8")
    v1 = tmp_path / "v1.json"
    v1.write_text(json.dumps({"name": "Old Tam", "description": "x", "first_mes": "Hm."}))
    v3 = tmp_path / "v3.json"
    v3.write_text(json.dumps({**CARD_V2, "spec": "chara_card_v3", "spec_version": "3.0"}))
    png, charx = tmp_path / "brenna.png", tmp_path / "brenna.charx"
    for fmt, out in (("png", png), ("charx", charx)):
        assert run_cli("characters", "export", "brenna", "-f", fmt, "-o", str(out)).returncode == 0
    before = snapshot(lw_home.root)
    files = [str(p) for p in (v2, v1, v3, png, charx)]
    result = run_cli("characters", "validate", *files)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"ok {f}" for f in files]
    nameless = tmp_path / "nameless.json"
    nameless.write_text(json.dumps({"spec": "chara_card_v2", "data": {"extensions": {}}}))
    result = run_cli("characters", "validate", str(v2), str(nameless))
    assert result.returncode == 1 and result.stdout == f"ok {v2}\n"
    assert result.stderr.count("\n") == 1 and f"{nameless}: no name" in result.stderr
    assert snapshot(lw_home.root) == before


def test_import_prints_the_id_last_and_twice_does_not_duplicate(
    tmp_path: Path, lw_home: Home
) -> None:
    card = tmp_path / "mira.json"
    card.write_text(json.dumps(CARD_V2), encoding="utf-8")
    first = run_cli("characters", "import", str(card))
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[-1] == "mira_quill"
    again = run_cli("characters", "import", str(card))
    assert again.returncode == 0 and "already in your library" in again.stdout
    assert sorted(p.name for p in lw_home.characters.glob("*.yaml")) == ["mira_quill.yaml"]
    shown = run_cli("characters", "show", "mira_quill")
    assert "{% raw %}{{7*7}}" in shown.stdout  # card text is data, never evaluated


def test_same_id_different_card_is_refused_unless_renamed(tmp_path: Path, lw_home: Home) -> None:
    card = tmp_path / "mira.json"
    card.write_text(json.dumps(CARD_V2), encoding="utf-8")
    assert run_cli("characters", "import", str(card)).returncode == 0
    changed = json.loads(json.dumps(CARD_V2))
    changed["data"]["description"] = "Someone else entirely."
    card.write_text(json.dumps(changed), encoding="utf-8")
    before = snapshot(lw_home.root)
    line = one_line_error(run_cli("characters", "import", str(card)))
    assert "--as" in line
    assert snapshot(lw_home.root) == before
    renamed = run_cli("characters", "import", str(card), "--as", "mira2")
    assert renamed.stdout.splitlines()[-1] == "mira2"


def test_export_every_format_and_reimport(tmp_path: Path) -> None:
    for fmt in ("v2", "v3", "png", "charx", "yaml"):
        out = tmp_path / f"brenna.{fmt}"
        result = run_cli("characters", "export", "brenna", "--format", fmt, "-o", str(out))
        assert result.returncode == 0, result.stderr
        back = run_cli("characters", "import", str(out), "--as", f"b_{fmt}")
        assert back.returncode == 0, back.stderr
    v2 = json.loads((tmp_path / "brenna.v2").read_text(encoding="utf-8"))
    assert v2["spec"] == "chara_card_v2" and v2["data"]["first_mes"].startswith("*The blade")


def _png_with_text(keyword: bytes, payload: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data).to_bytes(4, "big")
        return len(data).to_bytes(4, "big") + kind + data + crc

    ihdr = (1).to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0])
    idat = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", idat)
        + chunk(b"tEXt", keyword + b"\x00" + payload)
        + chunk(b"IEND", b"")
    )


BAD_INPUTS = {
    "truncated.png": lambda: _png_with_text(b"chara", base64.b64encode(b"{}"))[:40],
    "nocard.png": lambda: _png_with_text(b"Comment", b"hello"),
    "badb64.png": lambda: _png_with_text(b"chara", b"!!!not base64!!!"),
    "badutf8.json": lambda: b'{"name": "\xff\xfe"}',
    "badjson.json": lambda: b'{"spec": "chara_card_v2", "data": {',
    "wrongspec.json": lambda: json.dumps({"spec": "chara_card_v9", "data": {}}).encode(),
    "noname.json": lambda: json.dumps(
        {"spec": "chara_card_v2", "data": {"description": "x"}}
    ).encode(),
    "wrongtype.json": lambda: json.dumps(
        {"spec": "chara_card_v2", "data": {"name": ["X", "Y"], "tags": "one"}}
    ).encode(),
    "huge.json": lambda: json.dumps(
        {"name": "X", "description": "a" * 300_000, "first_mes": ""}
    ).encode(),
    "array.json": lambda: b"[1, 2, 3]",
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_cards_are_one_clear_line_and_touch_nothing(
    name: str, tmp_path: Path, lw_home: Home
) -> None:
    bad = tmp_path / name
    bad.write_bytes(BAD_INPUTS[name]())
    before = snapshot(lw_home.root)
    line = one_line_error(run_cli("characters", "import", str(bad)))
    assert name in line
    assert snapshot(lw_home.root) == before


def test_sheet_field_errors_name_file_and_field(tmp_path: Path) -> None:
    sheet = tmp_path / "npc.yaml"
    sheet.write_text("name: Guard\ngoals:\n  - watch\n  - wait\n  - [a, list]\n", encoding="utf-8")
    line = one_line_error(run_cli("characters", "validate", str(sheet)))
    assert line.endswith(f"{sheet}: goals[2]: must be text, got a list")


def test_standalone_lorebooks_import_from_v3_and_sillytavern(tmp_path: Path, lw_home: Home) -> None:
    v3 = {
        "spec": "lorebook_v3",
        "data": {
            "name": "Coast",
            "entries": [
                {
                    "keys": ["harbour"],
                    "content": "@@depth 3\nThe harbour silts up.",
                    "enabled": True,
                    "insertion_order": 1,
                    "use_regex": False,
                    "extensions": {},
                }
            ],
        },
    }
    st_world = {
        "entries": {
            "0": {
                "uid": 0,
                "key": ["storm"],
                "keysecondary": ["sea"],
                "content": "Storms wreck ships.",
                "selective": True,
                "selectiveLogic": 3,
                "position": 4,
                "depth": 2,
                "probability": 40,
                "useProbability": True,
                "group": "weather",
                "sticky": 2,
                "cooldown": 1,
                "delay": 3,
                "order": 7,
                "disable": False,
                "constant": False,
                "vectorized": False,
            }
        }
    }
    for name, data in (("coast.json", v3), ("world.json", st_world)):
        path = tmp_path / name
        path.write_text(json.dumps(data), encoding="utf-8")
        result = run_cli("characters", "import", str(path))
        assert result.returncode == 0, result.stderr
        assert "lorebook" in result.stdout
    from app.sheets.library import load_lorebook

    coast = load_lorebook(lw_home.lorebooks / "coast.yaml")
    assert coast.entries[0].decorators()[0].name == "depth"
    assert coast.entries[0].text() == "The harbour silts up."
    world = load_lorebook(lw_home.lorebooks / "world.yaml")
    entry = world.entries[0]
    assert (entry.selective_logic, entry.position, entry.depth, entry.probability) == (
        "and_all",
        "at_depth",
        2,
        40,
    )
    assert (entry.group, entry.sticky, entry.cooldown, entry.delay, entry.insertion_order) == (
        "weather",
        2,
        1,
        3,
        7,
    )
    assert entry.extensions == {"vectorized": False}  # where SillyTavern's cards keep it
