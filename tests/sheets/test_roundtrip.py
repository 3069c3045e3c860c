"""Lossless round trips: import → export → import gives equal data, for JSON, PNG and CHARX."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from PIL.PngImagePlugin import PngImageFile

from app.home import Home
from app.sheets import library
from app.sheets.cardmap import sheet_from_card, sheet_to_card
from app.sheets.transfer import export_character, import_file

text = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-1000, 1000), text)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)

entries = st.fixed_dictionaries(
    {
        "keys": st.lists(text.filter(str.strip), max_size=3),
        "content": text,
        "enabled": st.booleans(),
        "insertion_order": st.integers(0, 1000),
    },
    optional={
        "case_sensitive": st.booleans(),
        "constant": st.booleans(),
        "selective": st.booleans(),
        "secondary_keys": st.lists(text, max_size=2),
        "name": text,
        "comment": text,
        "priority": st.integers(0, 100),
        "id": st.integers(0, 10_000),
        "position": st.sampled_from(["before_char", "after_char"]),
        "extensions": st.fixed_dictionaries(
            {},
            optional={
                "selectiveLogic": st.integers(0, 3),
                "position": st.integers(0, 6),
                "depth": st.integers(0, 20),
                "probability": st.integers(0, 100),
                "group": text,
                "sticky": st.integers(0, 5),
                "cooldown": st.integers(0, 5),
                "delay": st.integers(0, 5),
                "custom_tool_key": json_value,
            },
        ),
    },
)

cards = st.fixed_dictionaries(
    {"name": text.filter(lambda s: s.strip() != "" and len(s) <= 200)},
    optional={
        "description": text,
        "personality": text,
        "scenario": text,
        "first_mes": text,
        "mes_example": text,
        "creator_notes": text,
        "system_prompt": text,
        "post_history_instructions": text,
        "alternate_greetings": st.lists(text, max_size=3),
        "tags": st.lists(text, max_size=3),
        "creator": text,
        "character_version": text,
        "nickname": text,
        "source": st.lists(text, max_size=2),
        "group_only_greetings": st.lists(text, max_size=2),
        "creation_date": st.integers(0, 2**31),
        "creator_notes_multilingual": st.dictionaries(
            st.sampled_from(["en", "fr", "ja"]), text, max_size=2
        ),
        "extensions": st.dictionaries(
            text.filter(lambda k: k != "loreweaver"), json_value, max_size=3
        ),
        "character_book": st.fixed_dictionaries(
            {"entries": st.lists(entries, max_size=3)},
            optional={
                "name": text,
                "scan_depth": st.integers(0, 50),
                "token_budget": st.integers(0, 5000),
                "recursive_scanning": st.booleans(),
            },
        ),
        "x_unknown_field": json_value,
    },
).map(lambda data: {"spec": "chara_card_v3", "spec_version": "3.0", "data": data})

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@SETTINGS
@given(card=cards, spec=st.sampled_from(["v2", "v3"]))
def test_card_dict_round_trip(card: dict[str, Any], spec: str) -> None:
    sheet = sheet_from_card(card)
    again = sheet_from_card(json.loads(json.dumps(sheet_to_card(sheet, spec))))
    assert again == sheet


def _roundtrip_through(home: Home, tmp: Path, card: dict[str, Any], fmt: str) -> None:
    for path in list(home.characters.iterdir()):
        if path.is_file():
            path.unlink()
    source = tmp / "card.json"
    source.write_text(json.dumps(card), encoding="utf-8")
    first = import_file(home, source, as_id="first")
    out = tmp / f"out.{fmt}"
    export_character(home, "first", fmt, out)
    second = import_file(home, out, as_id="second")
    a = library.load_sheet(first.path).model_dump(exclude={"avatar"})
    b = library.load_sheet(second.path).model_dump(exclude={"avatar"})
    assert a == b


@SETTINGS
@given(card=cards)
def test_png_round_trip(card: dict[str, Any], lw_home: Home, tmp_path: Path) -> None:
    _roundtrip_through(lw_home, tmp_path, card, "png")


@SETTINGS
@given(card=cards)
def test_charx_round_trip(card: dict[str, Any], lw_home: Home, tmp_path: Path) -> None:
    _roundtrip_through(lw_home, tmp_path, card, "charx")


def test_exported_png_is_still_an_image_with_both_chunks(lw_home: Home, tmp_path: Path) -> None:
    out = tmp_path / "brenna.png"
    export_character(lw_home, "brenna", "png", out)
    image = Image.open(io.BytesIO(out.read_bytes()))
    image.load()
    assert isinstance(image, PngImageFile) and image.size == (256, 256)
    assert {"chara", "ccv3"} <= set(image.text)
    again = import_file(lw_home, out)
    assert library.load_sheet(again.path).name == "Brenna Ironhand"
    assert (lw_home.characters / f"{again.id}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
