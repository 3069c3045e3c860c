"""Any card-ish file → plain dicts: sniff the container from its bytes, parse it, say what it holds.

The extension only decides between YAML and JSON text; PNG and zip signatures win over any name,
because cards are shared through sites that rename files freely.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from app.errors import LoreweaverError
from app.sheets.cards.charx import MAX_CHARX_BYTES, main_icon, read_charx
from app.sheets.cards.jsonfile import (
    MAX_DEPTH,
    UTF8_BOM,
    decode_utf8,
    nesting_depth,
    parse_json_bytes,
    type_word,
)
from app.sheets.cards.png import PNG_SIGNATURE, read_png_card
from app.untrusted import scrubbed

Kind = Literal["card", "lorebook", "yaml"]
Container = Literal["json", "png", "charx", "yaml"]

MAX_FILE_BYTES = MAX_CHARX_BYTES  # the largest container; each reader applies its own cap too
MAX_JSON_BYTES = 16 * 1024 * 1024  # world-info exports run to several megabytes
MAX_YAML_BYTES = 4 * 1024 * 1024
# Aliases let a small YAML file expand into a huge tree ("billion laughs"); count the expansion.
MAX_YAML_NODES = 200_000
YAML_SUFFIXES = (".yaml", ".yml")
CARD_SPECS = ("chara_card_v2", "chara_card_v3")
LOREBOOK_SPECS = ("lorebook_v3",)
_ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")
_OTHER_IMAGES = (
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"RIFF", "a RIFF (WebP?) file"),
)


@dataclass(frozen=True)
class RawCard:
    """What a file held, before any mapping to a sheet.

    `image` is the PNG without its card chunks, or for CHARX the main icon asset (any format).
    """

    kind: Kind
    card: dict[str, Any]
    image: bytes | None
    assets: dict[str, bytes]
    container: Container


def classify(card: dict[str, Any], path: Path) -> Literal["card", "lorebook"]:
    """Card (V1/V2/V3) or standalone lorebook (V3 or SillyTavern world info); else an error."""
    if "spec" in card:
        spec = card["spec"]
        if spec in CARD_SPECS:
            kind: Literal["card", "lorebook"] = "card"
        elif spec in LOREBOOK_SPECS:
            kind = "lorebook"
        else:
            shown = repr(spec) if len(repr(spec)) <= 60 else repr(spec)[:57] + "..."
            raise LoreweaverError(f"unsupported card spec {shown}", path=path)
        if not isinstance(card.get("data"), dict) and not (
            kind == "card" and isinstance(card.get("name"), str)  # SillyTavern reads the root
        ):
            raise LoreweaverError(f"'{spec}' file has no 'data' object", path=path)
        return kind
    if isinstance(card.get("entries"), dict | list):
        return "lorebook"
    if isinstance(card.get("name"), str) and ("description" in card or "first_mes" in card):
        return "card"
    raise LoreweaverError(
        "not a character card or lorebook: no 'spec', no 'entries', and no V1 fields "
        "('name' with 'description' or 'first_mes')",
        path=path,
    )


def _read_capped(path: Path, limit: int | None = None, *, kind: str = "card") -> bytes:
    """The file's bytes, refusing non-files and anything over `limit` (MAX_FILE_BYTES) unread."""
    limit = MAX_FILE_BYTES if limit is None else limit
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise LoreweaverError(f"is a folder, not a {kind} file", path=path)
        if not stat.S_ISREG(info.st_mode):
            raise LoreweaverError("is not a regular file", path=path)
        if info.st_size > limit:
            raise LoreweaverError(
                f"file is {info.st_size:,} bytes, over the {limit:,}-byte limit", path=path
            )
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except FileNotFoundError:
        raise LoreweaverError("no such file", path=path) from None
    except OSError as err:
        raise LoreweaverError(f"cannot read: {err.strerror or err}", path=path) from None
    if len(data) > limit:
        raise LoreweaverError(f"file grew past the {limit:,}-byte limit", path=path)
    return data


def sniff(data: bytes, path: Path) -> Container:
    """Which container `data` is, from its first bytes (and the suffix, for YAML)."""
    if not data:
        raise LoreweaverError("file is empty", path=path)
    if data.startswith(PNG_SIGNATURE) or PNG_SIGNATURE.startswith(data[:8]):
        return "png"
    if data[:4] in _ZIP_SIGNATURES:
        return "charx"
    suffix = path.suffix.lower()
    if suffix in YAML_SUFFIXES:
        return "yaml"
    text = data[len(UTF8_BOM) :] if data.startswith(UTF8_BOM) else data
    if text.lstrip(b" \t\r\n")[:1] in (b"{", b"[") or suffix == ".json":
        return "json"
    for signature, what in _OTHER_IMAGES:
        if data.startswith(signature):
            raise LoreweaverError(
                f"{what} cannot hold a card Loreweaver reads; use PNG, CHARX or JSON", path=path
            )
    raise LoreweaverError(
        "not a character card: expected a PNG, a CHARX (zip), JSON or YAML file", path=path
    )


class _TooDeep(Exception):
    """Nesting past MAX_DEPTH, seen by the scanner while reading."""


class _BoundedLoader(yaml.SafeLoader):
    """`SafeLoader` whose scanner stops at MAX_DEPTH levels of nesting as it reads: past that,
    PyYAML's per-token work grows with the depth (2,000 `[` took seconds) and its composer
    recurses until RecursionError. (The C loader is not used: it crashes on deep input.)"""

    def fetch_flow_collection_start(self, TokenClass: Any) -> None:  # noqa: N803 (PyYAML's name)
        if self.flow_level >= MAX_DEPTH:
            raise _TooDeep
        super().fetch_flow_collection_start(TokenClass)

    def add_indent(self, column: int) -> bool:
        if len(self.indents) >= MAX_DEPTH:
            raise _TooDeep
        return bool(super().add_indent(column))


class _Recursive(Exception):
    """A YAML alias that contains itself: walking it would never end."""


def _expanded_nodes(value: object, memo: dict[int, int], active: set[int]) -> int:
    """Nodes in `value` with every shared (aliased) branch counted each time it appears."""
    if not isinstance(value, dict | list):
        return 1
    key = id(value)
    if key in memo:
        return memo[key]
    if key in active:
        raise _Recursive
    active.add(key)
    children = [*value.keys(), *value.values()] if isinstance(value, dict) else value
    total = 1
    for child in children:
        total += _expanded_nodes(child, memo, active)
        if total > MAX_YAML_NODES:
            break
    active.discard(key)
    memo[key] = total
    return total


def parse_yaml_text(text: str, path: Path | str) -> object:
    """`yaml.safe_load` that cannot explode: alias expansion and nesting are capped.

    `path` names the text in messages (a file, or an editor box).
    """
    try:
        value = yaml.load(text, Loader=_BoundedLoader)  # noqa: S506 (a SafeLoader)
    except _TooDeep:
        raise LoreweaverError(f"YAML nests deeper than {MAX_DEPTH} levels", path=path) from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        raise LoreweaverError(
            f"invalid YAML{where}: {err.problem or err.context}", path=path
        ) from None
    except yaml.YAMLError as err:
        raise LoreweaverError(f"invalid YAML: {err}", path=path) from None
    except RecursionError:
        raise LoreweaverError("YAML is nested too deeply", path=path) from None
    try:
        nodes = _expanded_nodes(value, {}, set())
    except _Recursive:
        raise LoreweaverError("YAML refers to itself (recursive alias)", path=path) from None
    except RecursionError:
        raise LoreweaverError("YAML is nested too deeply", path=path) from None
    if nodes > MAX_YAML_NODES:
        raise LoreweaverError(
            f"YAML expands to more than {MAX_YAML_NODES:,} values (too many aliases)", path=path
        )
    if nesting_depth(value) > MAX_DEPTH:
        raise LoreweaverError(f"YAML nests deeper than {MAX_DEPTH} levels", path=path)
    return scrubbed(value, path)


def load_yaml_mapping(data: bytes, path: Path, *, allow_empty: bool = False) -> dict[str, Any]:
    """A size-capped YAML file that must hold a mapping (`parse_yaml_text`'s guards apply).

    `allow_empty`: a file with no value at all (empty, or only comments) reads as `{}`.
    """
    if len(data) > MAX_YAML_BYTES:
        raise LoreweaverError(
            f"YAML file is {len(data):,} bytes, over the {MAX_YAML_BYTES:,}-byte limit", path=path
        )
    value = parse_yaml_text(decode_utf8(data, path), path)
    if value is None and allow_empty:
        return {}
    if not isinstance(value, dict):
        raise LoreweaverError(
            f"YAML file must hold a mapping at the top level, found {type_word(value)}", path=path
        )
    return value


def read_yaml_file(path: Path, *, kind: str = "YAML", allow_empty: bool = False) -> dict[str, Any]:
    """A sheet, lorebook or settings file from disk, under the same guards as an imported one.

    Every YAML read goes through here: a file dropped in the home or named by path is as
    untrusted as a download (size, nesting and alias expansion are capped before anything walks it).
    """
    data = _read_capped(path, MAX_YAML_BYTES, kind=kind)
    return load_yaml_mapping(data, path, allow_empty=allow_empty)


def read_card_file(path: Path) -> RawCard:
    """Read a PNG / CHARX / JSON card or lorebook, or a YAML sheet, from `path`."""
    data = _read_capped(path)
    container = sniff(data, path)
    if container == "png":
        png = read_png_card(data, path)
        return RawCard(classify(png.card, path), png.card, png.image, {}, "png")
    if container == "charx":
        charx = read_charx(data, path)
        icon = main_icon(charx.card, charx.assets)
        return RawCard(classify(charx.card, path), charx.card, icon, charx.assets, "charx")
    if container == "yaml":
        return RawCard("yaml", load_yaml_mapping(data, path), None, {}, "yaml")
    card = parse_json_bytes(data, path, limit=MAX_JSON_BYTES)
    return RawCard(classify(card, path), card, None, {}, "json")
