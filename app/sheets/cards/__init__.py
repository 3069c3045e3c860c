"""Character-card containers: PNG, CHARX and JSON bytes ⇄ plain JSON dicts.

This layer knows file formats, not the sheet model: it hands `app.sheets.cardmap` the card as
the file spelled it and takes plain dicts back to write.
"""

from app.sheets.cards.charx import CharxCard, read_charx, write_charx
from app.sheets.cards.jsonfile import parse_json_bytes
from app.sheets.cards.png import PngCard, placeholder_avatar, read_png_card, write_png_card
from app.sheets.cards.reader import RawCard, read_card_file

__all__ = [
    "CharxCard",
    "PngCard",
    "RawCard",
    "parse_json_bytes",
    "placeholder_avatar",
    "read_card_file",
    "read_charx",
    "read_png_card",
    "write_charx",
    "write_png_card",
]
