"""read_card_file: content sniffing, classification, YAML, file-level caps, real files on disk."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cards.cardkit import b64json, text_chunk, tiny_png

from app.errors import LoreweaverError
from app.sheets.cards import reader
from app.sheets.cards.charx import write_charx
from app.sheets.cards.png import placeholder_avatar, write_png_card
from app.sheets.cards.reader import read_card_file

Put = Callable[[str, bytes], Path]


def error_of(path: Path) -> str:
    with pytest.raises(LoreweaverError) as caught:
        read_card_file(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    return message


def as_json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


# --- sniffing ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["brenna.png", "brenna.json", "brenna", "brenna.charx"])
def test_png_is_found_by_content_not_name(
    name: str, put: Put, v2_card: dict[str, Any], v3_card: dict[str, Any]
) -> None:
    avatar = placeholder_avatar("Brenna", 16)
    raw = read_card_file(put(name, write_png_card(avatar, v2=v2_card, v3=v3_card)))
    assert (raw.container, raw.kind, raw.card, raw.image) == ("png", "card", v3_card, avatar)
    assert raw.assets == {}


@pytest.mark.parametrize("name", ["brenna.charx", "brenna.zip", "brenna.png"])
def test_charx_is_found_by_content(name: str, put: Put, v3_card: dict[str, Any]) -> None:
    icon = placeholder_avatar("Brenna", 16)
    uri = "embeded://assets/icon/images/main.png"
    v3_card["data"]["assets"] = [{"type": "icon", "uri": uri, "name": "main", "ext": "png"}]
    blob = write_charx(v3_card, {"assets/icon/images/main.png": icon})
    raw = read_card_file(put(name, blob))
    assert (raw.container, raw.kind, raw.card, raw.image) == ("charx", "card", v3_card, icon)
    assert raw.assets == {"assets/icon/images/main.png": icon}


@pytest.mark.parametrize("name", ["brenna.json", "brenna.png", "brenna.txt"])
def test_json_is_found_by_content(name: str, put: Put, v2_card: dict[str, Any]) -> None:
    raw = read_card_file(put(name, b"\xef\xbb\xbf\n  " + as_json(v2_card)))
    assert (raw.container, raw.kind, raw.card, raw.image) == ("json", "card", v2_card, None)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\xff\xd8\xff\xe0JFIF", "a JPEG image cannot hold a card"),
        (b"GIF89a", "a GIF image cannot hold a card"),
        (b"hello there", "expected a PNG, a CHARX (zip), JSON or YAML file"),
        (b"", "file is empty"),
    ],
)
def test_unknown_content(data: bytes, expected: str, put: Put) -> None:
    assert expected in error_of(put("mystery.png", data))


def test_json_extension_with_garbage_reports_json_position(put: Put) -> None:
    assert "invalid JSON at line 1 column 1" in error_of(put("card.json", b"name: Brenna"))


# --- classification ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("card", "kind"),
    [
        ({"name": "Brenna", "description": "A smith."}, "card"),
        ({"name": "Brenna", "first_mes": "Back again?"}, "card"),
        ({"spec": "chara_card_v2", "spec_version": "2.0", "data": {"name": "B"}}, "card"),
        ({"spec": "chara_card_v3", "spec_version": "3.0", "data": {"name": "B"}}, "card"),
        ({"spec": "lorebook_v3", "data": {"entries": []}}, "lorebook"),
        ({"entries": {"0": {"uid": 0, "key": ["forge"], "content": "Hot."}}}, "lorebook"),
        ({"entries": [{"uid": 0, "key": ["forge"], "content": "Hot."}]}, "lorebook"),
    ],
)
def test_classification(card: dict[str, Any], kind: str, put: Put) -> None:
    raw = read_card_file(put("x.json", as_json(card)))
    assert (raw.kind, raw.card) == (kind, card)


@pytest.mark.parametrize(
    ("card", "expected"),
    [
        ({"spec": "xyz", "data": {}}, "unsupported card spec 'xyz'"),
        ({"spec": 2, "data": {}}, "unsupported card spec 2"),
        ({"spec": "x" * 500}, "unsupported card spec 'xxxx"),
        ({"spec": "chara_card_v2", "data": []}, "'chara_card_v2' file has no 'data' object"),
        ({"spec": "chara_card_v3"}, "'chara_card_v3' file has no 'data' object"),
        ({"title": "Not a card"}, "not a character card or lorebook"),
        ({"name": "Brenna"}, "not a character card or lorebook"),
    ],
)
def test_classification_errors(card: dict[str, Any], expected: str, put: Put) -> None:
    message = error_of(put("x.json", as_json(card)))
    assert expected in message
    assert len(message) < 200


def test_wrong_spec_inside_a_png(put: Put) -> None:
    card = {"spec": "chara_card_v9", "data": {}}
    data = tiny_png(after_idat=[text_chunk("chara", b64json(card))])
    assert error_of(put("x.png", data)).endswith("unsupported card spec 'chara_card_v9'")


def test_v1_card_in_a_png(put: Put) -> None:
    card = {"name": "Brenna", "description": "A smith.", "first_mes": "Hi."}
    data = tiny_png(after_idat=[text_chunk("chara", b64json(card))])
    raw = read_card_file(put("old.png", data))
    assert (raw.kind, raw.card, raw.image) == ("card", card, tiny_png())


# --- YAML ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".yaml", ".yml", ".YAML"])
def test_yaml_mapping(suffix: str, put: Put) -> None:
    text = (
        "name: Brenna\npersona: |\n  A smith.\ngoals: [forge, trade]\nbase: &b {x: 1}\nother: *b\n"
    )
    raw = read_card_file(put("brenna" + suffix, text.encode()))
    assert raw.container == raw.kind == "yaml"
    assert raw.card == {
        "name": "Brenna",
        "persona": "A smith.\n",
        "goals": ["forge", "trade"],
        "base": {"x": 1},
        "other": {"x": 1},
    }
    assert (raw.image, raw.assets) == (None, {})


def test_json_content_in_a_yaml_file_is_yaml(put: Put) -> None:
    raw = read_card_file(put("x.yaml", b'{"name": "Brenna"}'))
    assert (raw.kind, raw.card) == ("yaml", {"name": "Brenna"})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: [unclosed\n", "invalid YAML at line 2 column 1"),
        ("name: Brenna\n  bad: indent\n", "invalid YAML at line 2 column 6"),
        ("- a\n- b\n", "must hold a mapping at the top level, found an array"),
        ("just text\n", "found a string"),
        ("# only a comment\n", "found null"),
        ("a: !!python/object/apply:os.system ['true']\n", "invalid YAML"),
        ('name: "\\xff"\nbad: \xff\n', "invalid UTF-8 at byte"),
    ],
)
def test_bad_yaml(text: str, expected: str, put: Put) -> None:
    data = text.encode("latin-1") if "\xff" in text else text.encode()
    assert expected in error_of(put("bad.yaml", data))


def test_yaml_alias_bomb_is_refused(put: Put) -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        refs = ", ".join([f"*a{level - 1}"] * 10)
        lines.append(f"a{level}: &a{level} [{refs}]")
    path = put("laughs.yaml", "\n".join(lines).encode())
    assert path.stat().st_size < 2000
    assert f"more than {reader.MAX_YAML_NODES:,} values" in error_of(path)


def test_recursive_yaml_alias_is_refused(put: Put) -> None:
    assert "refers to itself" in error_of(put("loop.yaml", b"a: &a [1, *a]\n"))


def test_yaml_size_cap(monkeypatch: pytest.MonkeyPatch, put: Put) -> None:
    monkeypatch.setattr(reader, "MAX_YAML_BYTES", 10)
    message = error_of(put("x.yaml", b"name: Brenna\n"))
    assert "YAML file is 13 bytes, over the 10-byte limit" in message


# --- files ---------------------------------------------------------------------------------------


def test_size_cap_is_checked_before_reading(tmp_path: Path) -> None:
    sparse = tmp_path / "huge.png"
    with sparse.open("wb") as handle:
        handle.truncate(reader.MAX_FILE_BYTES + 1)  # sparse: no data is written or read
    assert f"file is {reader.MAX_FILE_BYTES + 1:,} bytes, over the" in error_of(sparse)


def test_json_cap(monkeypatch: pytest.MonkeyPatch, put: Put) -> None:
    monkeypatch.setattr(reader, "MAX_JSON_BYTES", 20)
    body = as_json({"name": "Brenna", "description": "A smith."})
    assert f"the file is {len(body)} bytes, over the 20-byte limit" in error_of(put("x.json", body))


def test_missing_file_and_folder(tmp_path: Path) -> None:
    assert error_of(tmp_path / "nope.png").endswith("no such file")
    assert error_of(tmp_path).endswith("is a folder, not a card file")


def test_fifo_is_not_read(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    assert error_of(fifo).endswith("is not a regular file")
