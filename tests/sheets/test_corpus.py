"""Hand-made cards covering every field and the quirks of cards found in the wild."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from app.home import Home
from app.sheets import library
from app.sheets.cardmap import sheet_from_card, sheet_to_card
from app.sheets.cards.png import placeholder_avatar
from app.sheets.transfer import export_character, import_file

V1 = {
    "name": "Old Card",
    "description": "From 2023.",
    "personality": "dry",
    "scenario": "a library",
    "first_mes": "Shh.",
    "mes_example": "<START>\n{{user}}: Hi",
}

V3_DATA = {
    "name": "Corvina",
    "nickname": "Cor",
    "description": "A courier.",
    "personality": "quick",
    "scenario": "rooftops",
    "first_mes": "Package for you.",
    "mes_example": "",
    "creator_notes": "notes",
    "creator_notes_multilingual": {"fr": "notes fr"},
    "system_prompt": "{{original}} Be brief.",
    "post_history_instructions": "Stay terse.",
    "alternate_greetings": ["Sign here."],
    "group_only_greetings": ["Couriers, gather."],
    "tags": ["courier"],
    "creator": "me",
    "character_version": "3",
    "source": ["https://x"],
    "creation_date": 1700000000,
    "modification_date": 1700000500,
    "assets": [
        {
            "type": "icon",
            "uri": "embeded://assets/icon/images/cor.png",
            "name": "main",
            "ext": "png",
        },
        {"type": "background", "uri": "embeded://assets/other/bg.png", "name": "bg", "ext": "png"},
    ],
    "character_book": {
        "name": "City",
        "scan_depth": 4,
        "token_budget": 300,
        "recursive_scanning": True,
        "extensions": {"book_ext": 1},
        "entries": [
            {
                "keys": ["bridge"],
                "secondary_keys": ["night"],
                "selective": True,
                "content": "@@depth 3\n@@@role user\nThe bridge is haunted.",
                "enabled": True,
                "insertion_order": 3,
                "case_sensitive": True,
                "use_regex": True,
                "constant": False,
                "priority": 5,
                "id": 9,
                "comment": "c",
                "name": "Bridge",
                "position": "before_char",
                "extensions": {"selectiveLogic": 1, "sticky": 2},
            }
        ],
    },
    "extensions": {"depth_prompt": {"prompt": "x", "depth": 4}, "world": "City"},
}


def test_v1_card_imports(tmp_path: Path, lw_home: Home) -> None:
    path = tmp_path / "v1.json"
    path.write_text(json.dumps(V1), encoding="utf-8")
    result = import_file(lw_home, path)
    sheet = library.load_sheet(result.path)
    assert (sheet.name, sheet.first_message, sheet.example_dialogues) == (
        "Old Card",
        "Shh.",
        "<START>\n{{user}}: Hi",
    )


def test_v3_every_field_survives_charx_with_assets(tmp_path: Path, lw_home: Home) -> None:
    card = {"spec": "chara_card_v3", "spec_version": "3.0", "data": V3_DATA}
    icon, background = placeholder_avatar("Corvina"), placeholder_avatar("bg", 32)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("card.json", json.dumps(card))
        archive.writestr("assets/icon/images/cor.png", icon)
        archive.writestr("assets/other/bg.png", background)
    source = tmp_path / "cor.charx"
    source.write_bytes(buffer.getvalue())
    imported = import_file(lw_home, source)
    sheet = library.load_sheet(imported.path)
    assert sheet.nickname == "Cor" and sheet.group_only_greetings == ["Couriers, gather."]
    assert sheet.creator_notes_multilingual == {"fr": "notes fr"}
    assert (lw_home.characters / f"{imported.id}.png").read_bytes() == icon
    assert sheet.character_book is not None
    entry = sheet.character_book.entries[0]
    assert entry.selective_logic == "not_all" and entry.sticky == 2 and entry.use_regex
    assert [(d.name, d.value, d.fallback) for d in entry.decorators()] == [
        ("depth", "3", False),
        ("role", "user", True),
    ]
    assert sheet.extensions == V3_DATA["extensions"]
    out = tmp_path / "again.charx"
    export_character(lw_home, imported.id, "charx", out)
    with zipfile.ZipFile(out) as archive:
        assert archive.read("assets/other/bg.png") == background
    again = library.load_sheet(import_file(lw_home, out, as_id="again").path)
    assert again.model_dump(exclude={"avatar"}) == sheet.model_dump(exclude={"avatar"})


def test_v3_fields_ride_in_our_extension_on_a_v2_card() -> None:
    sheet = sheet_from_card({"spec": "chara_card_v3", "spec_version": "3.0", "data": V3_DATA})
    v2 = sheet_to_card(sheet, "v2")
    assert "nickname" not in v2["data"]
    assert v2["data"]["extensions"]["loreweaver"]["v3"]["nickname"] == "Cor"
    assert sheet_from_card(v2) == sheet


def test_npc_fields_survive_a_v2_export(lw_home: Home) -> None:
    _, sheet = library.load(lw_home, "hobb")
    back = sheet_from_card(json.loads(json.dumps(sheet_to_card(sheet, "v2"))))
    assert back.unknowns == sheet.unknowns and back.refusals == sheet.refusals
    assert back.state == sheet.state and back.world == ["harrowford"]


def test_samples_share_the_world_lorebook(lw_home: Home) -> None:
    for entry in library.entries(lw_home):
        sheet = library.load_sheet(entry.path)
        books = library.world_books(lw_home, sheet)
        assert books and books[0][0] == "harrowford"
        assert any(e.constant for e in books[0][1].entries)
