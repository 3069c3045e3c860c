"""Character cards inside CHARX files: a zip with `card.json` at its root and assets beside it.

The zip is read in memory and never extracted. Nothing in it is trusted: every member name is
checked for traversal, declared sizes and compression ratios are capped before anything is
inflated, and bytes are counted again while inflating because a member can lie about its size.
Only `card.json`, files under `assets/` and files the card points at (`embeded://…`) are read.
"""

from __future__ import annotations

import io
import json
import re
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.errors import LoreweaverError
from app.sheets.cards.jsonfile import parse_json_bytes

MAX_CHARX_BYTES = 100 * 1024 * 1024
MAX_MEMBERS = 2000
MAX_TOTAL_BYTES = 128 * 1024 * 1024  # uncompressed, all members together
MAX_RATIO = 100
RATIO_FLOOR = 1024 * 1024  # small members may compress as well as they like
MAX_CARD_JSON_BYTES = 8 * 1024 * 1024
# What every common file system can hold (NAME_MAX 255 bytes), with room for the home's path.
MAX_SEGMENT_BYTES = 255
MAX_PATH_BYTES = 1024
MAX_PATH_DEPTH = 32

CARD_NAME = "card.json"
ASSET_DIR = "assets/"
# The V3 spec spells the scheme `embeded://`; accept the dictionary spelling too.
EMBEDDED_SCHEMES = ("embeded://", "embedded://")
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_READ_CHUNK = 64 * 1024
_DRIVE = re.compile(r"^[A-Za-z]:")
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    struct.error,
    NotImplementedError,
    RuntimeError,
)


@dataclass(frozen=True)
class CharxCard:
    """`card.json` parsed, and the asset files by their path inside the zip."""

    card: dict[str, Any]
    assets: dict[str, bytes]

    def asset(self, uri: str) -> bytes | None:
        """The bytes an `embeded://path` URI points at, if the zip holds them."""
        name = embedded_path(uri)
        return None if name is None else self.assets.get(name)


def embedded_path(uri: str) -> str | None:
    """`embeded://assets/icon/images/1.png` → `assets/icon/images/1.png`; other URIs → None."""
    for scheme in EMBEDDED_SCHEMES:
        if uri.startswith(scheme):
            return uri[len(scheme) :]
    return None


def name_problem(name: str) -> str | None:
    """Why a member name is unsafe to use as a path (traversal, absolute, Windows separators)."""
    if not name:
        return "empty name"
    if "\\" in name:
        return "backslash in name"
    if "\0" in name:
        return "NUL in name"
    if name.startswith("/") or _DRIVE.match(name):
        return "absolute path"
    parts = name.removesuffix("/").split("/")
    if ".." in parts:
        return "'..' in path"
    if "" in parts or "." in parts:
        return "empty or '.' path segment"
    return None


def layout_problem(names: list[str]) -> str | None:
    """Why these member paths cannot all be files on disk at once: a name that is both a file
    and a folder, names that differ only in case, a segment or path too long for a file system."""
    files: dict[str, str] = {}
    folders: dict[str, str] = {}
    for name in names:
        parts = name.removesuffix("/").split("/")
        if len(parts) > MAX_PATH_DEPTH:
            return f"{name[:60]!r}… nests deeper than {MAX_PATH_DEPTH} folders"
        if len(name.encode("utf-8")) > MAX_PATH_BYTES:
            return f"{name[:60]!r}… is longer than {MAX_PATH_BYTES} bytes"
        if any(len(part.encode("utf-8")) > MAX_SEGMENT_BYTES for part in parts):
            return f"{name[:60]!r}… has a name over {MAX_SEGMENT_BYTES} bytes"
        for depth in range(1, len(parts)):
            folders.setdefault("/".join(parts[:depth]).casefold(), "/".join(parts[:depth]))
        if name.endswith("/"):
            folders.setdefault(name.removesuffix("/").casefold(), name)
            continue
        key = name.casefold()
        if key in files:
            return f"{files[key]!r} and {name!r} differ only in case"
        files[key] = name
    for key, name in files.items():
        if key in folders:
            return f"{name!r} is both a file and a folder"
    return None


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16)


def _checked_members(archive: zipfile.ZipFile, path: Path) -> dict[str, zipfile.ZipInfo]:
    """Files in the zip by name, after refusing anything unsafe or oversized as declared."""
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise LoreweaverError(
            f"CHARX has {len(infos):,} members, over the {MAX_MEMBERS:,} limit", path=path
        )
    members: dict[str, zipfile.ZipInfo] = {}
    declared = 0
    for info in infos:
        name = info.filename
        problem = name_problem(name)
        if problem is not None:
            raise LoreweaverError(f"unsafe member name {name!r} in CHARX ({problem})", path=path)
        if _is_symlink(info):
            raise LoreweaverError(f"CHARX member {name!r} is a symbolic link", path=path)
        if info.flag_bits & 0x1:
            raise LoreweaverError(f"CHARX member {name!r} is encrypted", path=path)
        if name in members:
            raise LoreweaverError(f"CHARX holds {name!r} twice", path=path)
        if info.is_dir():
            continue
        declared += info.file_size
        if declared > MAX_TOTAL_BYTES:
            raise LoreweaverError(
                f"CHARX unpacks to more than {MAX_TOTAL_BYTES:,} bytes", path=path
            )
        if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise LoreweaverError(
                f"CHARX member {name!r} is compressed more than {MAX_RATIO}:1 (a zip bomb?)",
                path=path,
            )
        members[name] = info
    problem = layout_problem([info.filename for info in infos])
    if problem is not None:
        raise LoreweaverError(f"CHARX cannot be unpacked: {problem}", path=path)
    return members


def _inflate(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int, path: Path) -> bytes:
    """A member's bytes, stopping as soon as they outgrow its declared size or the budget."""
    name = info.filename
    out = bytearray()
    try:
        with archive.open(info) as handle:
            while chunk := handle.read(_READ_CHUNK):
                out += chunk
                if len(out) > info.file_size:
                    raise LoreweaverError(
                        f"CHARX member {name!r} is larger than its declared size", path=path
                    )
                if len(out) > budget:
                    raise LoreweaverError(
                        f"CHARX unpacks to more than {MAX_TOTAL_BYTES:,} bytes", path=path
                    )
    except _ZIP_ERRORS as err:
        # The stdlib stops at the declared size, so a member that lies about it fails its CRC.
        raise LoreweaverError(f"corrupt CHARX member {name!r}: {err}", path=path) from None
    if len(out) != info.file_size:
        raise LoreweaverError(f"CHARX member {name!r} is shorter than its declared size", path=path)
    return bytes(out)


def _referenced(card: dict[str, Any]) -> set[str]:
    """Zip paths named by the card's `embeded://` asset URIs."""
    data = card.get("data")
    listed = data.get("assets") if isinstance(data, dict) else None
    names: set[str] = set()
    for entry in listed if isinstance(listed, list) else []:
        uri = entry.get("uri") if isinstance(entry, dict) else None
        name = embedded_path(uri) if isinstance(uri, str) else None
        if name:
            names.add(name)
    return names


def read_charx(data: bytes, path: Path) -> CharxCard:
    """`card.json` and the assets of a CHARX zip held in memory."""
    if len(data) > MAX_CHARX_BYTES:
        raise LoreweaverError(
            f"CHARX is {len(data):,} bytes, over the {MAX_CHARX_BYTES:,}-byte limit", path=path
        )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = _checked_members(archive, path)
            info = members.get(CARD_NAME)
            if info is None:
                nested = next((n for n in members if n.endswith("/" + CARD_NAME)), None)
                hint = f" (found {nested!r})" if nested else ""
                raise LoreweaverError(f"no card.json at the root of this CHARX{hint}", path=path)
            if info.file_size > MAX_CARD_JSON_BYTES:
                raise LoreweaverError(
                    f"card.json is {info.file_size:,} bytes, "
                    f"over the {MAX_CARD_JSON_BYTES:,}-byte limit",
                    path=path,
                )
            budget = MAX_TOTAL_BYTES
            raw = _inflate(archive, info, budget, path)
            budget -= len(raw)
            card = parse_json_bytes(raw, path, limit=MAX_CARD_JSON_BYTES, what=CARD_NAME)
            wanted = {n for n in members if n.startswith(ASSET_DIR)}
            wanted |= _referenced(card) & members.keys()
            wanted.discard(CARD_NAME)
            assets: dict[str, bytes] = {}
            for name in sorted(wanted):
                assets[name] = _inflate(archive, members[name], budget, path)
                budget -= len(assets[name])
    except _ZIP_ERRORS as err:
        raise LoreweaverError(f"corrupt CHARX (zip): {err}", path=path) from None
    return CharxCard(card=card, assets=assets)


def main_icon(card: dict[str, Any], assets: dict[str, bytes]) -> bytes | None:
    """The embedded `icon` asset named `main` (else the first embedded icon), if any."""
    data = card.get("data")
    listed = data.get("assets") if isinstance(data, dict) else None
    icons = [
        entry
        for entry in (listed if isinstance(listed, list) else [])
        if isinstance(entry, dict)
        and entry.get("type") == "icon"
        and isinstance(entry.get("uri"), str)
    ]
    icons.sort(key=lambda entry: entry.get("name") != "main")
    for entry in icons:
        name = embedded_path(entry["uri"])
        if name is not None and name in assets:
            return assets[name]
    return None


def _deflates_too_well(data: bytes) -> bool:
    """Would our own reader take this member, deflated as zipfile does it, for a bomb?"""
    if len(data) <= RATIO_FLOOR:
        return False
    deflater = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
    size = len(deflater.compress(data)) + len(deflater.flush())
    return len(data) > MAX_RATIO * size


def _member(name: str, data: bytes) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
    info.compress_type = zipfile.ZIP_STORED if _deflates_too_well(data) else zipfile.ZIP_DEFLATED
    info.create_system = 3
    info.external_attr = (stat.S_IFREG | 0o644) << 16
    return info


def write_charx(card: dict[str, Any], assets: dict[str, bytes]) -> bytes:
    """A CHARX zip: `card.json` first, then the assets sorted by path; same input, same bytes."""
    for name in assets:
        problem = "reserved for the card" if name == CARD_NAME else name_problem(name)
        if problem is None and name.endswith("/"):
            problem = "a folder, not a file"
        if problem is not None:
            raise LoreweaverError(f"cannot store asset {name!r} in a CHARX ({problem})")
    if len(assets) + 1 > MAX_MEMBERS:
        raise LoreweaverError(f"too many assets for a CHARX ({len(assets):,})")
    body = json.dumps(card, ensure_ascii=False, indent=2, allow_nan=False).encode("utf-8")
    if len(body) > MAX_CARD_JSON_BYTES:
        raise LoreweaverError(f"card is too large for a CHARX ({len(body):,} bytes of JSON)")
    if len(body) + sum(len(blob) for blob in assets.values()) > MAX_TOTAL_BYTES:
        raise LoreweaverError(f"card and assets exceed the {MAX_TOTAL_BYTES:,}-byte CHARX limit")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(_member(CARD_NAME, body), body)
        for name in sorted(assets):
            archive.writestr(_member(name, assets[name]), assets[name])
    return buffer.getvalue()
