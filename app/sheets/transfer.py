"""Importing cards and lorebooks into the library, and exporting characters as cards.

Every input is parsed and validated completely before anything is written, then the sheet,
avatar and assets are written in a staging folder inside the home and moved into place together,
so a bad file or a failed write leaves the library exactly as it was.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml

from app.errors import LoreweaverError
from app.fsutil import Staging, write_bytes_atomic, write_text_atomic
from app.home import Home
from app.sheets import library
from app.sheets.cardmap import OUR_KEY, lorebook_from_card, sheet_from_card, sheet_to_card
from app.sheets.cards import RawCard, read_card_file
from app.sheets.cards.charx import write_charx
from app.sheets.cards.png import PNG_SIGNATURE, placeholder_avatar, write_png_card
from app.sheets.ids import ID_RULE, is_id, slug
from app.sheets.lorebook import Lorebook
from app.sheets.sheet import Asset, Sheet

ExportFormat = Literal["v2", "v3", "png", "charx", "yaml"]
EXPORT_FORMATS: tuple[str, ...] = ("v2", "v3", "png", "charx", "yaml")
ICON_URI = "embeded://assets/icon/images/main.png"


@dataclass(frozen=True)
class Imported:
    kind: Literal["character", "lorebook"]
    id: str
    path: Path
    already_there: bool = False


def _check_id(value: str) -> str:
    if not is_id(value):
        raise LoreweaverError(f"--as {value!r}: use lowercase {ID_RULE}")
    return value


def dump_yaml(model: Sheet | Lorebook) -> str:
    data = model.model_dump(mode="json", exclude_defaults=True)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def _image_suffix(data: bytes) -> str:
    if data.startswith(PNG_SIGNATURE):
        return ".png"
    if data.startswith(b"\xff\xd8"):
        return ".jpg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ".webp"
    return ".bin"


def read_file(path: Path) -> tuple[RawCard, Sheet | Lorebook]:
    """A card (PNG, CHARX, JSON V1/V2/V3), lorebook or YAML sheet, read and checked whole:
    what `characters import` stores and `characters validate` checks."""
    raw = read_card_file(path)
    try:
        if raw.kind == "lorebook":
            data = raw.card.get("data") if raw.card.get("spec") == "lorebook_v3" else raw.card
            return raw, lorebook_from_card(data if isinstance(data, dict) else {})
        if raw.kind == "yaml":
            if "entries" in raw.card and "first_message" not in raw.card:
                return raw, lorebook_from_card(raw.card)
            return raw, library.validate_sheet(raw.card)
        return raw, _drop_generated_icon(sheet_from_card(raw.card, path), raw.card)
    except LoreweaverError as exc:
        raise LoreweaverError(str(exc), path=path) from None


def import_file(home: Home, path: Path, *, as_id: str | None = None) -> Imported:
    raw, read = read_file(path)
    if isinstance(read, Lorebook):
        return _store_lorebook(home, path, read, as_id)
    return _store_character(home, read, raw.image, raw.assets, as_id)


def _drop_generated_icon(sheet: Sheet, card: dict[str, object]) -> Sheet:
    """Our CHARX export lists the avatar as an asset; that entry is ours, not the card's."""
    data = card.get("data") if isinstance(card.get("data"), dict) else card
    ext = data.get("extensions") if isinstance(data, dict) else None
    ours = ext.get(OUR_KEY) if isinstance(ext, dict) else None
    if isinstance(ours, dict) and ours.get("generated_icon") == ICON_URI:
        kept = [a for a in sheet.assets if a.uri != ICON_URI]
        return sheet.model_copy(update={"assets": kept})
    return sheet


def _store_character(
    home: Home, sheet: Sheet, image: bytes | None, assets: dict[str, bytes], as_id: str | None
) -> Imported:
    home.ensure()
    char_id = _check_id(as_id) if as_id else slug(sheet.name)
    target = home.characters / f"{char_id}.yaml"
    avatar_name = f"{char_id}{_image_suffix(image)}" if image else None
    sheet = sheet.model_copy(update={"avatar": avatar_name})
    if target.exists():
        existing = library.load_sheet(target)
        if existing.model_dump(exclude={"avatar"}) == sheet.model_dump(exclude={"avatar"}):
            return Imported("character", char_id, target, already_there=True)
        raise LoreweaverError(
            f"a different character {char_id!r} is already in your library; "
            f"import with --as NEW_ID to keep both"
        )
    with Staging(home.root) as staging:
        try:
            _stage_assets(staging.place(home.characters / f"{char_id}.assets"), assets)
            if image and avatar_name:
                staging.place(home.characters / avatar_name).write_bytes(image)
            staging.place(target).write_text(dump_yaml(sheet), encoding="utf-8")
        except OSError as exc:
            raise LoreweaverError(f"cannot import: {exc.strerror or exc}") from None
        staging.commit()
    return Imported("character", char_id, target)


def _stage_assets(folder: Path, assets: dict[str, bytes]) -> None:
    """The card's asset files under `folder`, by their path inside the card."""
    for name, data in assets.items():
        relative = Path(name)
        if relative.is_absolute() or ".." in relative.parts:
            continue
        destination = folder / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(data)


def _store_lorebook(home: Home, source: Path, book: Lorebook, as_id: str | None) -> Imported:
    home.ensure()
    book_id = _check_id(as_id) if as_id else slug(book.name or source.stem)
    target = home.lorebooks / f"{book_id}.yaml"
    if target.exists():
        existing = library.load_lorebook(target)
        if existing == book:
            return Imported("lorebook", book_id, target, already_there=True)
        raise LoreweaverError(
            f"a different lorebook {book_id!r} is already in your library; "
            f"import with --as NEW_ID to keep both"
        )
    write_text_atomic(target, dump_yaml(book))
    return Imported("lorebook", book_id, target)


def _avatar_bytes(entry: library.Entry, sheet: Sheet) -> bytes | None:
    if not sheet.avatar:
        return None
    path = entry.path.parent / Path(sheet.avatar).name
    try:
        return path.read_bytes() if path.is_file() else None
    except OSError:
        return None


def _stored_assets(entry: library.Entry) -> dict[str, bytes]:
    folder = entry.path.parent / f"{entry.id}.assets"
    if not folder.is_dir():
        return {}
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not path.is_symlink()
    }


def export_character(home: Home, ref: str, fmt: str, out: Path) -> Path:
    if fmt not in EXPORT_FORMATS:
        raise LoreweaverError(f"unknown format {fmt!r} (choose {', '.join(EXPORT_FORMATS)})")
    entry, sheet = library.load(home, ref)
    card_sheet = sheet.model_copy(update={"avatar": None})
    if fmt == "yaml":
        write_text_atomic(out, dump_yaml(sheet))
    elif fmt in ("v2", "v3"):
        card = sheet_to_card(card_sheet, fmt)
        write_text_atomic(out, json.dumps(card, ensure_ascii=False, indent=2) + "\n")
    elif fmt == "png":
        image = _avatar_bytes(entry, sheet)
        if image is None or not image.startswith(PNG_SIGNATURE):
            image = placeholder_avatar(sheet.name)
        data = write_png_card(
            image, v2=sheet_to_card(card_sheet, "v2"), v3=sheet_to_card(card_sheet, "v3")
        )
        write_bytes_atomic(out, data)
    else:
        image = _avatar_bytes(entry, sheet)
        if image is None or not image.startswith(PNG_SIGNATURE):
            image = placeholder_avatar(sheet.name)
        assets = _stored_assets(entry)
        icon = Asset(type="icon", uri=ICON_URI, name="main", ext="png")
        charx_sheet = card_sheet.model_copy(update={"assets": [*card_sheet.assets, icon]})
        card = sheet_to_card(charx_sheet, "v3")
        card["data"]["extensions"].setdefault(OUR_KEY, {})["generated_icon"] = ICON_URI
        assets["assets/icon/images/main.png"] = image
        write_bytes_atomic(out, write_charx(card, assets))
    return out
