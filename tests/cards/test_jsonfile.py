"""Untrusted JSON bytes: BOM, bad UTF-8, bad JSON, wrong top-level type, caps."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.errors import LoreweaverError
from app.sheets.cards.jsonfile import MAX_DEPTH, parse_json_bytes

PATH = Path("card.json")


def error_of(data: bytes, limit: int = 1_000_000) -> str:
    with pytest.raises(LoreweaverError) as caught:
        parse_json_bytes(data, PATH, limit=limit)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{PATH}: ")
    return message


def test_plain_object_and_bom() -> None:
    body = '{"name": "Brénna", "tags": ["smith"]}'.encode()
    assert parse_json_bytes(body, PATH, limit=100) == {"name": "Brénna", "tags": ["smith"]}
    assert parse_json_bytes(b"\xef\xbb\xbf" + body, PATH, limit=100)["name"] == "Brénna"


def test_invalid_utf8_offset_counts_the_bom() -> None:
    assert "invalid UTF-8 at byte 10 of the file" in error_of(b'{"name": "\xff"}')
    assert "invalid UTF-8 at byte 13 of the file" in error_of(b'\xef\xbb\xbf{"name": "\xff"}')


def test_invalid_json_gives_line_and_column() -> None:
    message = error_of(b'{\n  "name": "Brenna",\n  "tags": [1, 2,]\n}')
    assert "invalid JSON at line 3 column 17 of the file" in message


@pytest.mark.parametrize(
    ("body", "found"),
    [(b"[]", "an array"), (b'"text"', "a string"), (b"3", "a number"), (b"null", "null")],
)
def test_top_level_must_be_an_object(body: bytes, found: str) -> None:
    assert error_of(body).endswith(f"the file must hold a JSON object, found {found}")


def test_size_cap_is_checked_before_parsing() -> None:
    assert "the file is 12 bytes, over the 10-byte limit" in error_of(b'{"a": "bcd"}', limit=10)


def test_nan_and_infinity_are_not_json() -> None:
    assert "NaN is not a JSON value" in error_of(b'{"temperature": NaN}')
    assert "-Infinity is not a JSON value" in error_of(b'{"x": -Infinity}')


def test_number_with_too_many_digits() -> None:
    assert "a number has too many digits" in error_of(b'{"x": ' + b"9" * 5000 + b"}")


def test_nesting_is_capped() -> None:
    shallow = b'{"a": ' + b"[" * (MAX_DEPTH - 1) + b"]" * (MAX_DEPTH - 1) + b"}"
    assert parse_json_bytes(shallow, PATH, limit=10_000)["a"]
    deep = b'{"a": ' + b"[" * MAX_DEPTH + b"]" * MAX_DEPTH + b"}"
    assert f"nests deeper than {MAX_DEPTH} levels" in error_of(deep)
    abyss = b'{"a": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    assert "nested too deeply" in error_of(abyss)
