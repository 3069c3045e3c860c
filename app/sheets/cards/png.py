"""Character cards inside PNG images: the `chara` (V2) and `ccv3` (V3) text chunks.

A card PNG is an ordinary image whose text chunk holds base64 of the card's UTF-8 JSON. Files come
from anywhere, so the chunk walk checks every length and, for the chunks we read, the CRC; text is
size-capped before and after decompression. Writing keeps the image chunks byte for byte.
"""

from __future__ import annotations

import base64
import binascii
import colorsys
import hashlib
import json
import re
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.errors import LoreweaverError
from app.sheets.cards.jsonfile import parse_json_bytes

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_PNG_BYTES = 50 * 1024 * 1024
MAX_CARD_TEXT_BYTES = 8 * 1024 * 1024
MAX_CHUNKS = 50_000
MAX_AVATAR_SIZE = 4096

CARD_KEYWORDS = ("ccv3", "chara")  # in order of preference
TEXT_CHUNKS = (b"tEXt", b"zTXt", b"iTXt")
_MAX_KEYWORD = 79
_MAX_CHUNK_LENGTH = 2**31 - 1
_NOT_BASE64 = re.compile(rb"[^A-Za-z0-9+/=]")


@dataclass(frozen=True)
class PngCard:
    """A card read from a PNG: the parsed JSON, the chunk it came from, the bare image."""

    card: dict[str, Any]
    keyword: str
    image: bytes


@dataclass(frozen=True)
class _Chunk:
    kind: bytes
    start: int  # offset of the length field
    end: int  # offset just past the CRC

    def payload(self, data: bytes) -> bytes:
        return data[self.start + 8 : self.end - 4]


def _walk(data: bytes, path: Path | None) -> list[_Chunk]:
    """Every chunk from the signature to IEND, with lengths checked against the file's end."""
    if not data.startswith(PNG_SIGNATURE):
        if data and PNG_SIGNATURE.startswith(data):
            raise LoreweaverError(f"truncated PNG at byte {len(data)}", path=path)
        raise LoreweaverError("not a PNG image (wrong signature)", path=path)
    chunks: list[_Chunk] = []
    pos = len(PNG_SIGNATURE)
    while True:
        if pos + 8 > len(data):
            raise LoreweaverError(
                f"truncated PNG at byte {len(data)}: the file ends before its IEND chunk", path=path
            )
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if not kind.isalpha():
            raise LoreweaverError(f"corrupt PNG: invalid chunk type at byte {pos + 4}", path=path)
        name = kind.decode("ascii")
        if length > _MAX_CHUNK_LENGTH:
            raise LoreweaverError(f"corrupt PNG: chunk {name} at byte {pos} is too long", path=path)
        end = pos + 12 + length
        if end > len(data):
            raise LoreweaverError(
                f"truncated PNG at byte {len(data)}: chunk {name} at byte {pos} "
                f"needs {length + 12} bytes",
                path=path,
            )
        if not chunks and kind != b"IHDR":
            raise LoreweaverError(f"corrupt PNG: first chunk is {name}, not IHDR", path=path)
        chunks.append(_Chunk(kind, pos, end))
        if len(chunks) > MAX_CHUNKS:
            raise LoreweaverError(f"PNG has more than {MAX_CHUNKS:,} chunks", path=path)
        if kind == b"IEND":
            return chunks
        pos = end


def _card_keyword(data: bytes, chunk: _Chunk) -> str | None:
    """`ccv3` / `chara` when the chunk is a text chunk carrying a card (any keyword case)."""
    if chunk.kind not in TEXT_CHUNKS:
        return None
    head = data[chunk.start + 8 : min(chunk.end - 4, chunk.start + 8 + _MAX_KEYWORD + 1)]
    keyword, sep, _ = head.partition(b"\0")
    if not sep:
        return None
    lowered = keyword.decode("latin-1").lower()
    return lowered if lowered in CARD_KEYWORDS else None


def _inflate(blob: bytes, label: str, path: Path) -> bytes:
    """zlib-decompress at most MAX_CARD_TEXT_BYTES; larger or broken streams are errors."""
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(blob, MAX_CARD_TEXT_BYTES + 1)
    except zlib.error:
        raise LoreweaverError(f"corrupt compressed text in {label}", path=path) from None
    if len(out) > MAX_CARD_TEXT_BYTES:
        raise LoreweaverError(
            f"{label} holds more than {MAX_CARD_TEXT_BYTES:,} bytes of text", path=path
        )
    if not inflater.eof:
        raise LoreweaverError(f"corrupt compressed text in {label} (stream ends early)", path=path)
    return out


def _capped(text: bytes, label: str, path: Path) -> bytes:
    if len(text) > MAX_CARD_TEXT_BYTES:
        raise LoreweaverError(
            f"{label} holds {len(text):,} bytes, over the {MAX_CARD_TEXT_BYTES:,}-byte limit",
            path=path,
        )
    return text


def _chunk_text(data: bytes, chunk: _Chunk, label: str, path: Path) -> bytes:
    """The text of a tEXt / zTXt / iTXt chunk, decompressed when the chunk says so."""
    rest = chunk.payload(data).partition(b"\0")[2]
    if chunk.kind == b"tEXt":
        return _capped(rest, label, path)
    if chunk.kind == b"zTXt":
        if rest[:1] != b"\0":
            raise LoreweaverError(f"unknown compression method in {label}", path=path)
        return _inflate(rest[1:], label, path)
    # iTXt: flag, method, language tag\0, translated keyword\0, text
    if len(rest) < 2:
        raise LoreweaverError(f"corrupt {label} (header cut short)", path=path)
    compressed, method = rest[0], rest[1]
    fields = rest[2:].split(b"\0", 2)
    if len(fields) != 3:
        raise LoreweaverError(f"corrupt {label} (header cut short)", path=path)
    text = fields[2]
    if compressed == 0:
        return _capped(text, label, path)
    if compressed != 1 or method != 0:
        raise LoreweaverError(f"unknown compression in {label}", path=path)
    return _inflate(text, label, path)


def _decode_card(text: bytes, label: str, path: Path) -> dict[str, Any]:
    """base64 (strict) → UTF-8 → JSON object."""
    text = text.strip(b" \t\r\n")
    bad = _NOT_BASE64.search(text)
    if bad is not None:
        char = bad.group().decode("latin-1")
        raise LoreweaverError(
            f"invalid base64 in {label}: unexpected {char!r} at offset {bad.start()}", path=path
        )
    try:
        raw = base64.b64decode(text, validate=True)
    except binascii.Error as err:
        raise LoreweaverError(f"invalid base64 in {label}: {err}", path=path) from None
    return parse_json_bytes(raw, path, limit=MAX_CARD_TEXT_BYTES, what=f"the card text in {label}")


def read_png_card(data: bytes, path: Path) -> PngCard:
    """The card in a PNG (`ccv3` preferred over `chara`) and the image without card chunks."""
    if len(data) > MAX_PNG_BYTES:
        raise LoreweaverError(
            f"PNG is {len(data):,} bytes, over the {MAX_PNG_BYTES:,}-byte limit", path=path
        )
    chunks = _walk(data, path)
    found: dict[str, _Chunk] = {}
    kept: list[bytes] = [PNG_SIGNATURE]
    for chunk in chunks:
        keyword = _card_keyword(data, chunk)
        if keyword is None:
            kept.append(data[chunk.start : chunk.end])
        else:
            found.setdefault(keyword, chunk)
    keyword = next((k for k in CARD_KEYWORDS if k in found), None)
    if keyword is None:
        raise LoreweaverError("no character card in this PNG (no chara/ccv3 text chunk)", path=path)
    chunk = found[keyword]
    label = f"the '{keyword}' {chunk.kind.decode()} chunk at byte {chunk.start}"
    stored_crc = int.from_bytes(data[chunk.end - 4 : chunk.end], "big")
    if zlib.crc32(data[chunk.start + 4 : chunk.end - 4]) != stored_crc:
        raise LoreweaverError(f"bad CRC in {label}: the file is corrupted", path=path)
    card = _decode_card(_chunk_text(data, chunk, label, path), label, path)
    return PngCard(card=card, keyword=keyword, image=b"".join(kept))


def _chunk_bytes(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload))
    )


def _card_chunk(keyword: str, card: dict[str, Any]) -> bytes:
    encoded = base64.b64encode(json.dumps(card, ensure_ascii=False, allow_nan=False).encode())
    if len(encoded) > MAX_CARD_TEXT_BYTES:
        raise LoreweaverError(
            f"card is too large to embed in a PNG ({len(encoded):,} bytes of '{keyword}' text, "
            f"limit {MAX_CARD_TEXT_BYTES:,})"
        )
    return _chunk_bytes(b"tEXt", keyword.encode("latin-1") + b"\0" + encoded)


def write_png_card(image: bytes, *, v2: dict[str, Any], v3: dict[str, Any]) -> bytes:
    """`image` with its old card chunks replaced by `chara` (V2) and `ccv3` (V3) before IEND."""
    chunks = _walk(image, None)
    out: list[bytes] = [PNG_SIGNATURE]
    for chunk in chunks:
        if chunk.kind == b"IEND":
            out += [_card_chunk("chara", v2), _card_chunk("ccv3", v3)]
        if _card_keyword(image, chunk) is None:
            out.append(image[chunk.start : chunk.end])
    return b"".join(out)


def avatar_colours(name: str) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """(background, figure) RGB colours for a name: stable across runs, varied across names."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    hue = int.from_bytes(digest[:2], "big") / 65536

    def rgb(lightness: float, saturation: float) -> tuple[int, int, int]:
        r, g, b = colorsys.hls_to_rgb(hue, lightness, saturation)
        return round(r * 255), round(g * 255), round(b * 255)

    return rgb(0.42, 0.5), rgb(0.82, 0.4)


def _span(centre: float, half: float, size: int) -> tuple[int, int]:
    return max(0, round(centre - half)), min(size, round(centre + half))


def placeholder_avatar(name: str, size: int = 256) -> bytes:
    """A `size`² RGB PNG: a light head-and-shoulders figure on a colour derived from `name`."""
    if not 1 <= size <= MAX_AVATAR_SIZE:
        raise ValueError(f"avatar size must be 1..{MAX_AVATAR_SIZE}, got {size}")
    background, figure = avatar_colours(name)
    bg, fg = bytes(background), bytes(figure)
    mid = size / 2
    head_y, head_r = size * 0.38, size * 0.17
    body_y, body_rx, body_ry = size * 1.02, size * 0.36, size * 0.34
    rows: list[bytes] = []
    for y in range(size):
        cy = y + 0.5
        row = bytearray(bg * size)
        for centre_y, rx, ry in ((head_y, head_r, head_r), (body_y, body_rx, body_ry)):
            dy = (cy - centre_y) / ry
            if dy * dy < 1:
                left, right = _span(mid, rx * (1 - dy * dy) ** 0.5, size)
                row[left * 3 : right * 3] = fg * (right - left)
        rows.append(b"\0" + bytes(row))
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"".join(
        (
            PNG_SIGNATURE,
            _chunk_bytes(b"IHDR", header),
            _chunk_bytes(b"IDAT", zlib.compress(b"".join(rows), 9)),
            _chunk_bytes(b"IEND", b""),
        )
    )
