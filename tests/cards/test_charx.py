"""CHARX zips: round trips, embedded asset URIs, and every way a hostile zip can misbehave."""

from __future__ import annotations

import io
import json
import stat
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import pytest
from cards.cardkit import (
    BOMB_SIZE,
    make_zip,
    make_zip_pairs,
    patch_declared_size,
    patch_flags,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.errors import LoreweaverError
from app.sheets.cards import charx
from app.sheets.cards.charx import embedded_path, main_icon, read_charx, write_charx
from app.sheets.cards.png import placeholder_avatar

PATH = Path("brenna.charx")


def error_of(data: bytes) -> str:
    with pytest.raises(LoreweaverError) as caught:
        read_charx(data, PATH)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{PATH}: ")
    return message


def card_json(card: dict[str, Any]) -> bytes:
    return json.dumps(card).encode("utf-8")


def with_icon(card: dict[str, Any], uri: str, name: str = "main") -> dict[str, Any]:
    card = json.loads(json.dumps(card))
    card["data"]["assets"] = [{"type": "icon", "uri": uri, "name": name, "ext": "png"}]
    return card


# --- round trips and assets ----------------------------------------------------------------------


def test_write_read_round_trip_with_embedded_icon(v3_card: dict[str, Any]) -> None:
    icon = placeholder_avatar("Brenna", 32)
    card = with_icon(v3_card, "embeded://assets/icon/images/1.png")
    assets = {"assets/icon/images/1.png": icon, "assets/other/notes.txt": "ünïcode".encode()}
    blob = write_charx(card, assets)

    result = read_charx(blob, PATH)
    assert result.card == card
    assert result.assets == assets
    assert result.asset("embeded://assets/icon/images/1.png") == icon
    assert result.asset("embedded://assets/other/notes.txt") == assets["assets/other/notes.txt"]
    assert result.asset("https://example.com/1.png") is None
    assert main_icon(result.card, result.assets) == icon


def test_written_zip_is_deterministic_with_card_first(v3_card: dict[str, Any]) -> None:
    assets = {"assets/z.bin": b"z", "assets/a.bin": b"a", "assets/m/x.bin": b"x"}
    blob = write_charx(v3_card, assets)
    assert write_charx(v3_card, dict(reversed(assets.items()))) == blob
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        assert archive.namelist() == ["card.json", "assets/a.bin", "assets/m/x.bin", "assets/z.bin"]
        assert archive.testzip() is None
        assert json.loads(archive.read("card.json")) == v3_card


def test_writer_stores_members_our_reader_would_take_for_bombs(v3_card: dict[str, Any]) -> None:
    v3_card["data"]["description"] = "x" * 3_000_000
    assets = {"assets/other/blank.raw": bytes(2_000_000), "assets/other/small.txt": b"a" * 5000}
    blob = write_charx(v3_card, assets)
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        methods = {info.filename: info.compress_type for info in archive.infolist()}
    assert methods == {
        "card.json": zipfile.ZIP_STORED,
        "assets/other/blank.raw": zipfile.ZIP_STORED,
        "assets/other/small.txt": zipfile.ZIP_DEFLATED,
    }
    result = read_charx(blob, PATH)
    assert (result.card, result.assets) == (v3_card, assets)


def test_only_card_assets_and_referenced_files_are_read(v3_card: dict[str, Any]) -> None:
    card = with_icon(v3_card, "embeded://images/face.png")
    blob = make_zip(
        {
            "card.json": card_json(card),
            "images/face.png": b"face",
            "assets/icon/images/2.png": b"two",
            "module.risum": b"app-specific data",
            "assets/": b"",
        }
    )
    result = read_charx(blob, PATH)
    assert result.assets == {"images/face.png": b"face", "assets/icon/images/2.png": b"two"}


def test_main_icon_prefers_the_one_named_main() -> None:
    card = {
        "data": {
            "assets": [
                {"type": "background", "uri": "embeded://bg.png", "name": "main"},
                {"type": "icon", "uri": "embeded://side.png", "name": "side"},
                {"type": "icon", "uri": "embeded://main.png", "name": "main"},
                {"type": "icon", "uri": "ccdefault:", "name": "other"},
            ]
        }
    }
    assets = {"bg.png": b"bg", "side.png": b"side", "main.png": b"main"}
    assert main_icon(card, assets) == b"main"
    assert main_icon(card, {"side.png": b"side"}) == b"side"
    assert main_icon({"data": {"assets": "nonsense"}}, assets) is None


def test_embedded_path() -> None:
    assert embedded_path("embeded://assets/icon/images/1.png") == "assets/icon/images/1.png"
    assert embedded_path("ccdefault:") is None


# --- hostile zips --------------------------------------------------------------------------------


def test_zip_bomb_is_refused_without_inflating_it(bomb_zip: bytes) -> None:
    assert len(bomb_zip) < 1024 * 1024
    tracemalloc.start()
    try:
        message = error_of(bomb_zip)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "assets/other/bomb.bin" in message or "unpacks to more than" in message
    assert peak < 8 * 1024 * 1024  # measured in bytes, not seconds: it was never inflated


def test_bomb_lying_about_its_size_is_stopped_at_the_declared_size(bomb_zip: bytes) -> None:
    liar = patch_declared_size(bomb_zip, "assets/other/bomb.bin", 4096)
    with zipfile.ZipFile(io.BytesIO(liar)) as archive:
        assert archive.getinfo("assets/other/bomb.bin").file_size == 4096
    tracemalloc.start()
    try:
        message = error_of(liar)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "corrupt CHARX member 'assets/other/bomb.bin': Bad CRC-32" in message
    assert peak < 8 * 1024 * 1024
    assert 100 * peak < BOMB_SIZE


def test_member_claiming_more_than_it_holds(v3_card: dict[str, Any]) -> None:
    blob = make_zip({"card.json": card_json(v3_card), "assets/a.bin": b"x" * 1000})
    message = error_of(patch_declared_size(blob, "assets/a.bin", 5000))
    assert "'assets/a.bin' is shorter than its declared size" in message


def test_member_claiming_less_than_it_holds(v3_card: dict[str, Any]) -> None:
    blob = make_zip({"card.json": card_json(v3_card), "assets/a.bin": b"x" * 1000})
    message = error_of(patch_declared_size(blob, "assets/a.bin", 10))
    assert "corrupt CHARX member 'assets/a.bin': Bad CRC-32" in message


def test_declared_total_over_the_cap(
    monkeypatch: pytest.MonkeyPatch, v3_card: dict[str, Any]
) -> None:
    monkeypatch.setattr(charx, "MAX_TOTAL_BYTES", 5000)
    members = {"card.json": card_json(v3_card)} | {f"assets/{i}.bin": bytes(2000) for i in range(3)}
    assert "unpacks to more than 5,000 bytes" in error_of(make_zip(members))


def test_high_ratio_member_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(charx, "RATIO_FLOOR", 1000)
    blob = make_zip({"card.json": b"{}", "assets/zeros.bin": bytes(500_000)})
    assert "'assets/zeros.bin' is compressed more than 100:1" in error_of(blob)


@pytest.mark.parametrize(
    "name",
    ["../evil", "/abs/card.json", "a\\b", "assets/../../etc/passwd", "C:/x", "assets//x", "./card"],
)
def test_path_traversal_names_are_refused(name: str, v3_card: dict[str, Any]) -> None:
    blob = make_zip({"card.json": card_json(v3_card), name: b"payload"})
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        assert name in archive.namelist()  # the stdlib kept the hostile name as written
    assert f"unsafe member name {name!r}" in error_of(blob)


def test_symlink_member_is_refused(v3_card: dict[str, Any]) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("card.json", card_json(v3_card))
        link = zipfile.ZipInfo("assets/link")
        link.create_system = 3
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    assert "'assets/link' is a symbolic link" in error_of(buffer.getvalue())


def test_encrypted_member_is_refused(v3_card: dict[str, Any]) -> None:
    blob = make_zip({"card.json": card_json(v3_card), "assets/a.bin": b"secret"})
    assert "'assets/a.bin' is encrypted" in error_of(patch_flags(blob, "assets/a.bin", 0x1))


def test_missing_card_json(v3_card: dict[str, Any]) -> None:
    message = error_of(make_zip({"assets/a.png": b"x"}))
    assert message.endswith("no card.json at the root of this CHARX")
    nested = error_of(make_zip({"brenna/card.json": card_json(v3_card)}))
    assert nested.endswith("(found 'brenna/card.json')")


def test_duplicate_card_json(v3_card: dict[str, Any]) -> None:
    blob = make_zip_pairs([("card.json", card_json(v3_card)), ("card.json", b"{}")])
    assert "holds 'card.json' twice" in error_of(blob)


def test_too_many_members(v3_card: dict[str, Any]) -> None:
    members = {"card.json": card_json(v3_card)}
    members |= {f"assets/other/{i}.txt": b"" for i in range(charx.MAX_MEMBERS)}
    assert f"over the {charx.MAX_MEMBERS:,} limit" in error_of(make_zip(members, compression=0))


def test_card_json_over_its_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(charx, "MAX_CARD_JSON_BYTES", 100)
    body = card_json({"data": {"description": "x" * 200}})
    blob = make_zip({"card.json": body})
    assert f"card.json is {len(body)} bytes, over the 100-byte limit" in error_of(blob)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"spec": "chara_card_v3",', "invalid JSON at line 1 column 26 of card.json"),
        (b"[1, 2]", "card.json must hold a JSON object, found an array"),
        (b'{"name": "\xc3("}', "invalid UTF-8 at byte 10 of card.json"),
    ],
)
def test_broken_card_json(body: bytes, expected: str) -> None:
    assert expected in error_of(make_zip({"card.json": body}))


@pytest.mark.parametrize("cut", [4, 30, 100, -30, -1])
def test_truncated_or_non_zip_bytes(cut: int, v3_card: dict[str, Any]) -> None:
    blob = write_charx(v3_card, {"assets/a.bin": b"abc" * 100})
    assert "corrupt CHARX (zip)" in error_of(blob[:cut])


def test_whole_file_cap(monkeypatch: pytest.MonkeyPatch, v3_card: dict[str, Any]) -> None:
    blob = write_charx(v3_card, {})
    monkeypatch.setattr(charx, "MAX_CHARX_BYTES", len(blob) - 1)
    assert f"CHARX is {len(blob):,} bytes" in error_of(blob)


@pytest.mark.parametrize("name", ["card.json", "../x", "assets/dir/", "a\\b"])
def test_writer_refuses_unsafe_asset_names(name: str, v3_card: dict[str, Any]) -> None:
    with pytest.raises(LoreweaverError, match="cannot store asset"):
        write_charx(v3_card, {name: b"x"})


segments = st.text(alphabet="abcdefghijklmnopqrstuvwxyzé_-0123456789", min_size=1, max_size=8)
asset_names = st.lists(segments, min_size=1, max_size=3).map(lambda p: "assets/" + "/".join(p))
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    card=st.dictionaries(st.text(), json_values, max_size=6),
    assets=st.dictionaries(asset_names, st.binary(max_size=200), max_size=4),
)
def test_round_trip_property(card: dict[str, Any], assets: dict[str, bytes]) -> None:
    # A name cannot be both a file and a folder prefix of another file in a sane archive.
    assets = {n: b for n, b in assets.items() if not any(o.startswith(n + "/") for o in assets)}
    blob = write_charx(card, assets)
    result = read_charx(blob, PATH)
    assert result.card == card
    assert result.assets == assets
