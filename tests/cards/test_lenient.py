"""Cards SillyTavern imports in spite of one odd field, shaped like the files it writes: every
field at the root with only `extensions` in `data`, its date text as `creation_date`, a tag that is
an object, `personality` as a list. Imported, warned about in one line, and written back."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import one_line_error, run_cli

from app.errors import LoreweaverError
from app.home import Home
from app.sheets import library
from app.sheets.cardmap import sheet_from_card, sheet_to_card
from app.sheets.transfer import export_character, import_file
from app.untrusted import InputWarning

EXTENSIONS = {
    "talkativeness": "0.5",
    "fav": False,
    "world": "",
    "depth_prompt": {"prompt": "", "depth": 4, "role": "system"},
}


def root_card() -> dict[str, Any]:
    """What SillyTavern's V1 → V2 path can leave: the fields at the root, `data` all but empty."""
    return {
        "name": "Seraphina",
        "description": "{{char}} guards the glade.",
        "personality": "kind, watchful",
        "scenario": "",
        "first_mes": "Rest here, traveller.",
        "mes_example": "<START>\n{{char}}: Be still.",
        "creatorcomment": "Made for the forest pack.",
        "avatar": "none",
        "chat": "Seraphina - 2023-5-12@21h32m29s",
        "talkativeness": "0.5",
        "fav": False,
        "tags": ["fantasy"],
        "create_date": "2023-5-12 @21h 32m 29s 228ms",
        "spec": "chara_card_v2",
        "spec_version": "2.0",
        "data": {"extensions": EXTENSIONS},
    }


def odd_card() -> dict[str, Any]:
    return {
        "spec": "chara_card_v3",
        "spec_version": "3.0",
        "data": {
            "name": "Kestrel",
            "description": "A sellsword.",
            "personality": ["wry", "loyal"],
            "first_mes": "Coin first.",
            "tags": ["mercenary", {"id": 7, "name": "female"}],
            "creation_date": "2023-5-12 @21h 32m 29s 228ms",
            "avatar": "https://example.invalid/kestrel.png",
            "group_only_greetings": [],
            "extensions": {},
        },
    }


def test_fields_at_the_root_are_read_as_sillytavern_reads_them() -> None:
    sheet = sheet_from_card(root_card())
    assert sheet.name == "Seraphina" and sheet.first_message == "Rest here, traveller."
    assert sheet.creator_notes == "Made for the forest pack." and sheet.tags == ["fantasy"]
    assert sheet.extensions["depth_prompt"] == EXTENSIONS["depth_prompt"]
    edited = sheet.model_copy(update={"description": "She guards the glade."})
    card = json.loads(json.dumps(sheet_to_card(edited, "v2")))
    # The root keeps SillyTavern's own fields, and its copies follow the sheet.
    for key in ("avatar", "chat", "talkativeness", "fav", "create_date"):
        assert card[key] == root_card()[key], key
    assert card["description"] == card["data"]["description"] == "She guards the glade."
    assert card["creatorcomment"] == card["data"]["creator_notes"]
    assert sheet_from_card(card) == edited
    # With `data` missing altogether SillyTavern still reads the root; so do we.
    bare = {k: v for k, v in root_card().items() if k != "data"}
    assert sheet_from_card(bare).first_message == "Rest here, traveller."


def test_odd_fields_are_fitted_or_kept_with_one_warning(tmp_path: Path) -> None:
    with pytest.warns(InputWarning) as caught:
        sheet = sheet_from_card(odd_card(), tmp_path / "kestrel.json")
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "\n" not in message and message.startswith(str(tmp_path / "kestrel.json"))
    assert "personality" in message and "tags" in message and "creation_date" in message
    assert sheet.personality == "wry\nloyal" and sheet.tags == ["mercenary"]
    assert sheet.creation_date is None
    assert sheet.card is not None
    assert sheet.card.untyped == {
        "tags": odd_card()["data"]["tags"],
        "creation_date": "2023-5-12 @21h 32m 29s 228ms",
    }
    for spec in ("v2", "v3"):
        card = json.loads(json.dumps(sheet_to_card(sheet, spec)))
        assert card["data"]["avatar"] == "https://example.invalid/kestrel.png"
        assert card["data"]["extensions"]["loreweaver"]["untyped"] == sheet.card.untyped
        assert sheet_from_card(card) == sheet


def test_what_cannot_be_a_card_is_refused() -> None:
    card: dict[str, Any] = {
        "spec": "chara_card_v2",
        "spec_version": "2.0",
        "data": {"extensions": {}},
    }
    with pytest.raises(LoreweaverError, match="no name"):
        sheet_from_card(card)
    card["data"]["name"] = {"first": "Sera"}
    with pytest.raises(LoreweaverError, match="name: must be text"):
        sheet_from_card(card)


def test_import_and_export_keep_it_all(lw_home: Home, tmp_path: Path) -> None:
    source = tmp_path / "kestrel.json"
    source.write_text(json.dumps(odd_card()), encoding="utf-8")
    result = run_cli("characters", "import", str(source))
    assert result.returncode == 0, result.stderr
    warning = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(warning) == 1 and warning[0].startswith("loreweaver: warning: ")
    _, sheet = library.load(lw_home, "kestrel")
    assert sheet.card is not None and sheet.card.avatar == odd_card()["data"]["avatar"]
    out = export_character(lw_home, "kestrel", "v3", tmp_path / "out.json")
    assert json.loads(out.read_text())["data"]["avatar"] == odd_card()["data"]["avatar"]
    st_source = tmp_path / "seraphina.json"
    st_source.write_text(json.dumps(root_card()), encoding="utf-8")
    assert import_file(lw_home, st_source).id == "seraphina"


def test_cjk_names_get_distinct_ids(lw_home: Home, tmp_path: Path) -> None:
    ids = []
    for name in ("薛宝钗", "林黛玉", "김철수", "さくら"):
        source = tmp_path / "card.json"
        source.write_text(json.dumps({"name": name, "description": "x"}), encoding="utf-8")
        ids.append(import_file(lw_home, source).id)
    assert ids == ["薛宝钗", "林黛玉", "김철수", "さくら"]
    assert run_cli("chat", "林黛玉", "--help").returncode == 0
    shown = run_cli("characters", "show", "薛宝钗")
    assert shown.returncode == 0 and "name: 薛宝钗" in shown.stdout
    refused = one_line_error(run_cli("characters", "import", str(source), "--as", "Bad Id"))
    assert "--as 'Bad Id'" in refused


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
card_keys = st.sampled_from(
    ["description", "personality", "scenario", "first_mes", "mes_example", "tags", "creator",
     "alternate_greetings", "creation_date", "modification_date", "source", "nickname", "avatar",
     "creator_notes_multilingual", "group_only_greetings", "character_version", "talkativeness"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    fields=st.dictionaries(card_keys, json_values, max_size=5),
    at_root=st.booleans(),
    spec=st.sampled_from(["chara_card_v2", "chara_card_v3", None]),
)
def test_any_odd_field_gives_a_card_that_round_trips_or_one_line(
    fields: dict[str, Any], at_root: bool, spec: str | None
) -> None:
    """Whatever the fields hold, with a name: a sheet whose export reads back as the same sheet;
    or one LoreweaverError line (a value past a size cap)."""
    body = {"name": "Odd", **fields}
    if spec is None:
        card: dict[str, Any] = body
    elif at_root:
        card = {**body, "spec": spec, "spec_version": "2.0", "data": {"extensions": {}}}
    else:
        card = {"spec": spec, "spec_version": "2.0", "data": body}
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", InputWarning)
            sheet = sheet_from_card(json.loads(json.dumps(card)))
    except LoreweaverError as err:
        assert "\n" not in str(err)
        return
    assert all("\n" not in str(w.message) for w in caught) and len(caught) <= 1
    for out in ("v2", "v3"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", InputWarning)
            again = sheet_from_card(json.loads(json.dumps(sheet_to_card(sheet, out))))
        assert again == sheet
