"""Byte-level builders for card tests, written independently of the code under test.

Imported as `cards.cardkit` (tests/ is on pytest's pythonpath). PNGs are built here from zlib and
struct so a bug shared with `app.sheets.cards.png` cannot hide itself; zips use the stdlib writer
and are then patched by hand to lie.
"""

from __future__ import annotations

import base64
import io
import json
import struct
import warnings
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from typing import Any

SIGNATURE = b"\x89PNG\r\n\x1a\n"
BOMB_SIZE = 200 * 1024 * 1024


def chunk(kind: bytes, payload: bytes, *, crc: int | None = None) -> bytes:
    """One PNG chunk; `crc` overrides the correct checksum to make a corrupt one."""
    value = zlib.crc32(kind + payload) if crc is None else crc
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", value)


def b64json(card: Any) -> bytes:
    return base64.b64encode(json.dumps(card, ensure_ascii=False).encode("utf-8"))


def text_chunk(keyword: str, text: bytes) -> bytes:
    return chunk(b"tEXt", keyword.encode("latin-1") + b"\0" + text)


def ztxt_chunk(keyword: str, text: bytes) -> bytes:
    return chunk(b"zTXt", keyword.encode("latin-1") + b"\0\0" + zlib.compress(text))


def itxt_chunk(keyword: str, text: bytes, *, compress: bool) -> bytes:
    body = zlib.compress(text) if compress else text
    flag = b"\1\0" if compress else b"\0\0"
    return chunk(b"iTXt", keyword.encode("latin-1") + b"\0" + flag + b"en\0\0" + body)


def pixels(width: int, height: int) -> bytes:
    """Raw scanlines of a small RGB gradient (filter byte 0 per row)."""
    rows = []
    for y in range(height):
        row = bytes(v for x in range(width) for v in (x * 40 % 256, y * 60 % 256, 200))
        rows.append(b"\0" + row)
    return b"".join(rows)


def tiny_png(
    *, before_idat: Iterable[bytes] = (), after_idat: Iterable[bytes] = (), size: int = 3
) -> bytes:
    """A valid `size`² RGB PNG with extra chunks placed before or after the image data."""
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"".join(
        [
            SIGNATURE,
            chunk(b"IHDR", header),
            *before_idat,
            chunk(b"IDAT", zlib.compress(pixels(size, size))),
            *after_idat,
            chunk(b"IEND", b""),
        ]
    )


def iter_chunks(png: bytes) -> Iterator[tuple[bytes, bytes]]:
    """(type, payload) of each chunk of a well-formed PNG."""
    pos = len(SIGNATURE)
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        yield png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        pos += 12 + length


def text_chunks(png: bytes) -> dict[str, bytes]:
    """keyword → text of the tEXt chunks of a PNG."""
    found = {}
    for kind, payload in iter_chunks(png):
        if kind == b"tEXt":
            keyword, _, text = payload.partition(b"\0")
            found[keyword.decode("latin-1")] = text
    return found


def make_zip(members: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are made on purpose
        with zipfile.ZipFile(buffer, "w", compression) as archive:
            for name, data in members.items():
                archive.writestr(zipfile.ZipInfo(name), data, compress_type=compression)
    return buffer.getvalue()


def make_zip_pairs(members: list[tuple[str, bytes]]) -> bytes:
    """Like make_zip but from pairs, so a name may repeat."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in members:
                archive.writestr(name, data)
    return buffer.getvalue()


def zeros_member_zip(name: str, size: int, extra: dict[str, bytes]) -> bytes:
    """A zip with `extra` plus a member of `size` zero bytes, streamed so it is never in memory."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in extra.items():
            archive.writestr(member, data)
        with archive.open(name, "w") as handle:
            block = bytes(1 << 20)
            for _ in range(size // len(block)):
                handle.write(block)
            handle.write(bytes(size % len(block)))
    return buffer.getvalue()


_LOCAL = (b"PK\x03\x04", 26, 30)  # signature, offset of the name length, offset of the name
_CENTRAL = (b"PK\x01\x02", 28, 46)


def _entries(blob: bytes, header: tuple[bytes, int, int], name: str) -> list[int]:
    """Offsets of the zip headers of one kind whose file name is `name`."""
    signature, len_at, name_at = header
    found, pos = [], blob.find(signature)
    encoded = name.encode("utf-8")
    while pos != -1:
        (name_len,) = struct.unpack("<H", blob[pos + len_at : pos + len_at + 2])
        if blob[pos + name_at : pos + name_at + name_len] == encoded:
            found.append(pos)
        pos = blob.find(signature, pos + 4)
    return found


def patch_declared_size(blob: bytes, name: str, size: int) -> bytes:
    """Make member `name` claim `size` uncompressed bytes, in both its local and central headers."""
    out = bytearray(blob)
    for pos in _entries(blob, _LOCAL, name):
        out[pos + 22 : pos + 26] = struct.pack("<I", size)
    for pos in _entries(blob, _CENTRAL, name):
        out[pos + 24 : pos + 28] = struct.pack("<I", size)
    return bytes(out)


def patch_flags(blob: bytes, name: str, flags: int) -> bytes:
    """Set general-purpose flag bits (bit 0 = encrypted) on member `name`."""
    out = bytearray(blob)
    for pos in _entries(blob, _LOCAL, name):
        out[pos + 6 : pos + 8] = struct.pack("<H", flags)
    for pos in _entries(blob, _CENTRAL, name):
        out[pos + 8 : pos + 10] = struct.pack("<H", flags)
    return bytes(out)
