"""PNG card chunks: reading untrusted files, writing cards, the placeholder avatar."""

from __future__ import annotations

import base64
import io
import json
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from cards.cardkit import (
    b64json,
    chunk,
    iter_chunks,
    itxt_chunk,
    text_chunk,
    text_chunks,
    tiny_png,
    ztxt_chunk,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from PIL.PngImagePlugin import PngImageFile

from app.errors import LoreweaverError
from app.sheets.cards import png
from app.sheets.cards.png import (
    avatar_colours,
    placeholder_avatar,
    read_png_card,
    write_png_card,
)

PATH = Path("brenna.png")


def error_of(data: bytes) -> str:
    with pytest.raises(LoreweaverError) as caught:
        read_png_card(data, PATH)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{PATH}: ")
    return message


# --- reading -------------------------------------------------------------------------------------


def test_card_chunk_after_idat_is_read_and_removed_from_image(v2_card: dict[str, Any]) -> None:
    data = tiny_png(after_idat=[text_chunk("chara", b64json(v2_card))])
    result = read_png_card(data, PATH)
    assert result.card == v2_card
    assert result.keyword == "chara"
    assert result.image == tiny_png()


def test_card_chunk_before_idat_is_read(v3_card: dict[str, Any]) -> None:
    data = tiny_png(before_idat=[text_chunk("ccv3", b64json(v3_card))])
    assert read_png_card(data, PATH).card == v3_card


@pytest.mark.parametrize("keyword", ["CHARA", "Chara", "cHaRa"])
def test_keyword_is_matched_case_insensitively(keyword: str, v2_card: dict[str, Any]) -> None:
    data = tiny_png(after_idat=[text_chunk(keyword, b64json(v2_card))])
    result = read_png_card(data, PATH)
    assert (result.keyword, result.card) == ("chara", v2_card)
    assert result.image == tiny_png()


@pytest.mark.parametrize("v3_first", [True, False])
def test_ccv3_wins_over_chara_whatever_the_order(
    v3_first: bool, v2_card: dict[str, Any], v3_card: dict[str, Any]
) -> None:
    chunks = [text_chunk("CCV3", b64json(v3_card)), text_chunk("chara", b64json(v2_card))]
    data = tiny_png(after_idat=chunks if v3_first else chunks[::-1])
    result = read_png_card(data, PATH)
    assert (result.keyword, result.card) == ("ccv3", v3_card)
    assert result.image == tiny_png()


def test_other_text_chunks_stay_in_the_image(v2_card: dict[str, Any]) -> None:
    software = text_chunk("Software", b"hand-made")
    data = tiny_png(before_idat=[software], after_idat=[text_chunk("chara", b64json(v2_card))])
    assert read_png_card(data, PATH).image == tiny_png(before_idat=[software])


@pytest.mark.parametrize(
    "make",
    [
        lambda text: ztxt_chunk("chara", text),
        lambda text: itxt_chunk("chara", text, compress=False),
        lambda text: itxt_chunk("chara", text, compress=True),
    ],
    ids=["zTXt", "iTXt", "iTXt-compressed"],
)
def test_compressed_and_international_text_chunks(make: Any, v2_card: dict[str, Any]) -> None:
    data = tiny_png(after_idat=[make(b64json(v2_card))])
    result = read_png_card(data, PATH)
    assert result.card == v2_card
    assert result.image == tiny_png()


def test_ztxt_bomb_is_capped_without_inflating_it_all() -> None:
    bomb = ztxt_chunk("chara", b"A" * (png.MAX_CARD_TEXT_BYTES * 4))
    assert len(bomb) < png.MAX_CARD_TEXT_BYTES // 100
    tracemalloc.start()
    try:
        message = error_of(tiny_png(after_idat=[bomb]))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert f"more than {png.MAX_CARD_TEXT_BYTES:,} bytes of text" in message
    assert peak < 3 * png.MAX_CARD_TEXT_BYTES  # inflated up to the cap, not the 4× it holds


def test_png_without_card_chunk() -> None:
    data = tiny_png(before_idat=[text_chunk("Comment", b"just a picture")])
    assert error_of(data).endswith("no character card in this PNG (no chara/ccv3 text chunk)")


@pytest.mark.parametrize("data", [b"GIF89a....", b'{"name": 1}', b"\x89PNG\r\n\x1a\x00rest"])
def test_not_a_png_signature(data: bytes) -> None:
    assert error_of(data).endswith("not a PNG image (wrong signature)")


def test_truncated_at_many_offsets(v2_card: dict[str, Any]) -> None:
    data = tiny_png(after_idat=[text_chunk("chara", b64json(v2_card))])
    card_at = data.index(b"tEXt") - 4
    cuts = sorted({1, 5, 8, 10, 16, 30, card_at, card_at + 20, len(data) - 12, len(data) - 1})
    for cut in cuts:
        message = error_of(data[:cut])
        assert f"truncated PNG at byte {cut}" in message, (cut, message)


def test_bad_crc_in_card_chunk(v2_card: dict[str, Any]) -> None:
    card = chunk(b"tEXt", b"chara\0" + b64json(v2_card), crc=12345)
    message = error_of(tiny_png(after_idat=[card]))
    assert "bad CRC in the 'chara' tEXt chunk" in message


def test_bad_base64_names_the_offset() -> None:
    text = b"eyJuYW1lIjog" + b"!!" + b"In0="
    message = error_of(tiny_png(after_idat=[text_chunk("chara", text)]))
    assert "invalid base64" in message
    assert "at offset 12" in message


def test_base64_with_wrong_padding() -> None:
    message = error_of(tiny_png(after_idat=[text_chunk("chara", b"eyJhIjoxfQ")]))
    assert "invalid base64 in the 'chara' tEXt chunk" in message


def test_invalid_utf8_names_the_byte() -> None:
    raw = b'{"name": "Bren\xffna"}'
    text = base64.b64encode(raw)
    bad_at = raw.index(b"\xff")
    message = error_of(tiny_png(after_idat=[text_chunk("ccv3", text)]))
    assert f"invalid UTF-8 at byte {bad_at}" in message
    assert "'ccv3'" in message


def test_invalid_json_names_line_and_column() -> None:
    text = base64.b64encode(b'{\n  "name": "Brenna",\n  "description": oops\n}')
    message = error_of(tiny_png(after_idat=[text_chunk("chara", text)]))
    assert "invalid JSON at line 3 column 18" in message


def test_json_array_is_refused() -> None:
    text = b64json([{"name": "Brenna"}])
    assert "must hold a JSON object, found an array" in error_of(
        tiny_png(after_idat=[text_chunk("chara", text)])
    )


def test_huge_card_text_over_the_cap() -> None:
    text = b"A" * (png.MAX_CARD_TEXT_BYTES + 4)
    message = error_of(tiny_png(after_idat=[text_chunk("chara", text)]))
    assert f"over the {png.MAX_CARD_TEXT_BYTES:,}-byte limit" in message


def test_file_size_cap(monkeypatch: pytest.MonkeyPatch, v2_card: dict[str, Any]) -> None:
    data = tiny_png(after_idat=[text_chunk("chara", b64json(v2_card))])
    monkeypatch.setattr(png, "MAX_PNG_BYTES", len(data) - 1)
    assert f"PNG is {len(data):,} bytes, over the" in error_of(data)


def test_chunk_count_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(png, "MAX_CHUNKS", 10)
    data = tiny_png(before_idat=[text_chunk(f"k{i}", b"x") for i in range(20)])
    assert "more than 10 chunks" in error_of(data)


def test_first_chunk_must_be_ihdr() -> None:
    data = tiny_png()
    swapped = data[:8] + chunk(b"tEXt", b"a\0b") + data[8:]
    assert "first chunk is tEXt, not IHDR" in error_of(swapped)


def test_garbage_chunk_type() -> None:
    data = tiny_png(after_idat=[chunk(b"\x00\x01ab", b"")])
    assert "invalid chunk type" in error_of(data)


# --- writing -------------------------------------------------------------------------------------


def test_write_replaces_old_card_chunks_and_keeps_image_bytes(
    v2_card: dict[str, Any], v3_card: dict[str, Any]
) -> None:
    old = [text_chunk("CHARA", b64json({"name": "old"})), ztxt_chunk("ccv3", b"old")]
    image = tiny_png(before_idat=[text_chunk("Software", b"x")], after_idat=old)
    written = write_png_card(image, v2=v2_card, v3=v3_card)

    kinds = [kind for kind, _ in iter_chunks(written)]
    assert kinds == [b"IHDR", b"tEXt", b"IDAT", b"tEXt", b"tEXt", b"IEND"]
    texts = text_chunks(written)
    assert set(texts) == {"Software", "chara", "ccv3"}
    assert json.loads(base64.b64decode(texts["chara"])) == v2_card
    assert json.loads(base64.b64decode(texts["ccv3"])) == v3_card
    image_chunks = [c for c in iter_chunks(image) if c[0] in (b"IHDR", b"IDAT", b"IEND")]
    assert [c for c in iter_chunks(written) if c[0] != b"tEXt"] == image_chunks

    again = read_png_card(written, PATH)
    assert (again.keyword, again.card) == ("ccv3", v3_card)
    assert again.image == tiny_png(before_idat=[text_chunk("Software", b"x")])


def test_written_card_decodes_as_an_image_in_pillow(
    v2_card: dict[str, Any], v3_card: dict[str, Any]
) -> None:
    written = write_png_card(placeholder_avatar("Brenna", 64), v2=v2_card, v3=v3_card)
    with Image.open(io.BytesIO(written)) as picture:
        picture.load()
        assert picture.size == (64, 64)
        assert picture.getpixel((0, 0)) == avatar_colours("Brenna")[0]
        assert isinstance(picture, PngImageFile)
        text = picture.text
    assert json.loads(base64.b64decode(text["ccv3"])) == v3_card
    assert json.loads(base64.b64decode(text["chara"])) == v2_card


def test_write_refuses_a_card_too_big_to_read_back() -> None:
    huge = {"data": {"description": "x" * png.MAX_CARD_TEXT_BYTES}}
    with pytest.raises(LoreweaverError, match="too large to embed"):
        write_png_card(tiny_png(), v2=huge, v3={})


def test_write_refuses_a_non_png_image() -> None:
    with pytest.raises(LoreweaverError, match="not a PNG"):
        write_png_card(b"GIF89a", v2={}, v3={})


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
json_objects = st.dictionaries(st.text(), json_values, max_size=6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(v2=json_objects, v3=json_objects)
def test_write_read_round_trip(v2: dict[str, Any], v3: dict[str, Any]) -> None:
    image = tiny_png()
    written = write_png_card(image, v2=v2, v3=v3)
    result = read_png_card(written, PATH)
    assert (result.keyword, result.card, result.image) == ("ccv3", v3, image)
    assert json.loads(base64.b64decode(text_chunks(written)["chara"]).decode("utf-8")) == v2


# --- placeholder avatar --------------------------------------------------------------------------


def test_placeholder_avatar_is_a_real_png_coloured_by_name() -> None:
    data = placeholder_avatar("Brenna")
    background, figure = avatar_colours("Brenna")
    with Image.open(io.BytesIO(data)) as picture:
        picture.load()
        assert picture.format == "PNG"
        assert picture.size == (256, 256)
        assert picture.mode == "RGB"
        assert picture.getpixel((0, 0)) == background
        assert picture.getpixel((255, 10)) == background
        assert picture.getpixel((128, 97)) == figure  # the head
        assert picture.getpixel((128, 250)) == figure  # the shoulders
    assert background != figure
    assert placeholder_avatar("Brenna") == data


def test_placeholder_avatar_differs_between_names_and_honours_size() -> None:
    colours = {avatar_colours(name)[0] for name in ("Brenna", "Aldric", "Mira", "Tomas", "Ysolde")}
    assert len(colours) == 5
    with Image.open(io.BytesIO(placeholder_avatar("Mira", 48))) as picture:
        assert picture.size == (48, 48)
    with pytest.raises(ValueError):
        placeholder_avatar("Mira", 0)
