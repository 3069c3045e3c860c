"""Exported lorebooks read back in SillyTavern's terms (issue 16, points 2 and 5).

The checks below read our output the way SillyTavern's `public/scripts/world-info.js` does:
`st_card_entry` follows its `convertCharacterBook` (which fields of a card's `character_book`
entry it reads, and where), `WI_TYPES` its `newWorldInfoEntryDefinition` (the fields of a
world-info entry and their types). They are written from SillyTavern's source, not from our
reader, so a setting we write where SillyTavern does not look fails here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from app.sheets.cardmap import sheet_from_card, sheet_to_card
from app.sheets.lorebook import Lorebook, LoreEntry
from app.sheets.lorebook_map import lorebook_from_card, lorebook_to_world_info

FIXTURES = Path(__file__).parent / "fixtures"


def st_card_entry(entry: dict[str, Any], index: int) -> dict[str, Any]:
    """SillyTavern's `convertCharacterBook` for one entry (the fields this issue is about)."""
    ext = entry.get("extensions") or {}
    return {
        "uid": entry.get("id", index),
        "key": entry["keys"],
        "order": entry["insertion_order"],
        "position": ext.get("position", 0 if entry.get("position") == "before_char" else 1),
        "delayUntilRecursion": ext.get("delay_until_recursion", False),
        "groupOverride": ext.get("group_override", False),
        "caseSensitive": ext.get("case_sensitive"),
        "matchWholeWords": ext.get("match_whole_words"),
        "automationId": ext.get("automation_id", ""),
        "excludeRecursion": ext.get("exclude_recursion", False),
        "group": ext.get("group", ""),
        "disable": not entry["enabled"],
    }


WI_TYPES: dict[str, type | tuple[type, ...]] = {
    "key": list,
    "keysecondary": list,
    "comment": str,
    "content": str,
    "constant": bool,
    "selective": bool,
    "selectiveLogic": int,
    "order": int,
    "position": int,
    "disable": bool,
    "excludeRecursion": bool,
    "preventRecursion": bool,
    "delayUntilRecursion": (bool, int),
    "probability": int,
    "depth": int,
    "group": str,
    "groupOverride": bool,
    "groupWeight": int,
    "scanDepth": (int, type(None)),
    "caseSensitive": (bool, type(None)),
    "matchWholeWords": (bool, type(None)),
    "useGroupScoring": (bool, type(None)),
    "automationId": str,
    "role": (int, type(None)),
    "sticky": (int, type(None)),
    "cooldown": (int, type(None)),
    "delay": (int, type(None)),
    "uid": int,
}


def card() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "card_v3_book.json").read_text())
    return data


def test_card_book_round_trip_keeps_settings_where_sillytavern_reads_them() -> None:
    out = sheet_to_card(sheet_from_card(card()), "v3")
    book = out["data"]["character_book"]
    for absent in ("token_budget", "budget_percent", "recursive_scanning", "match_whole_words"):
        assert absent not in book  # SillyTavern's card had none: none is written
    seen = {e["comment"]: st_card_entry(e, i) for i, e in enumerate(book["entries"])}
    assert seen["Lamp"]["caseSensitive"] is True
    assert seen["Lamp"]["automationId"] == "lamp-1"
    assert seen["Oath"]["groupOverride"] is True and seen["Oath"]["group"] == "oaths"
    assert seen["Broken oath"]["delayUntilRecursion"] is True
    assert seen["Wreck"]["position"] == 10  # unknown to us: kept as it came
    assert seen["Lamp"]["position"] == 1
    original = {
        e["comment"]: st_card_entry(e, i)
        for i, e in enumerate(card()["data"]["character_book"]["entries"])
    }
    assert seen == original


def test_a_book_written_here_exports_its_settings_to_sillytavern_places() -> None:
    entry = LoreEntry(
        keys=["relic"],
        content="It hums.",
        comment="Relic",
        case_sensitive=True,
        group="artifacts",
        group_override=True,
        delay_until_recursion=2,
        automation_id="glow",
        position="at_depth",
    )
    sheet = sheet_from_card(card()).model_copy(
        update={"character_book": Lorebook(name="Mine", entries=[entry])}
    )
    book = sheet_to_card(sheet, "v2")["data"]["character_book"]
    seen = st_card_entry(book["entries"][0], 0)
    assert seen["caseSensitive"] is True and seen["groupOverride"] is True
    assert seen["delayUntilRecursion"] == 2 and seen["automationId"] == "glow"
    assert seen["position"] == 4  # world_info_position.atDepth
    assert "token_budget" not in book


def test_world_info_export_has_sillytavern_fields_and_types() -> None:
    source = json.loads((FIXTURES / "st_world_info.json").read_text())
    exported = lorebook_to_world_info(lorebook_from_card(source))
    assert set(exported["entries"]) == set(source["entries"])
    for uid, entry in exported["entries"].items():
        assert entry["uid"] == int(uid)
        for field, kind in WI_TYPES.items():
            if field in entry:
                assert isinstance(entry[field], kind), (uid, field, entry[field])
        original = source["entries"][uid]
        for field in ("key", "comment", "content", "constant", "order", "position", "disable"):
            assert entry[field] == original[field], (uid, field)
        for field in ("groupOverride", "caseSensitive", "automationId", "delayUntilRecursion"):
            assert entry.get(field, original[field]) == original[field], (uid, field)
    relic = exported["entries"]["8"]
    assert relic["position"] == 10 and relic["ignoreBudget"] is True
    assert relic["groupOverride"] is True and relic["caseSensitive"] is True
    assert relic["automationId"] == "relic-glow"
    assert "budget" not in json.dumps({k: v for k, v in exported.items() if k != "entries"})


def test_books_saved_by_older_versions_read_their_settings_from_extensions() -> None:
    # what an earlier import of a world-info file left in a saved YAML book
    stored = yaml.safe_load(
        """
name: Vale
token_budget: 600
entries:
  - keys: [relic]
    content: It hums.
    extensions:
      sillytavern: {groupOverride: true, delayUntilRecursion: 1, automationId: glow, addMemo: true}
  - keys: [lamp]
    content: It burns.
    extensions: {group_override: true}
"""
    )
    book = Lorebook.model_validate(stored)
    relic, lamp = book.entries
    assert relic.group_override and relic.delay_until_recursion == 1
    assert relic.automation_id == "glow"
    assert relic.extensions == {"sillytavern": {"addMemo": True}}
    assert lamp.group_override and lamp.extensions == {}
    assert book.token_budget == 600  # a budget the user's file sets stays theirs
