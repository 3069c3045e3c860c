"""Ids made from display names: readable in any script, and safe as file names everywhere.

An id names the sheet file (`<id>.yaml`), its avatar and assets folder, and a chat's owner, so it
must never hold a path separator, a dot or a control character, yet `薛宝钗` and `Старый Там` must
stay readable and distinct: letters, marks and digits of every script are kept (casefolded, NFKC),
anything else becomes `_`.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

MAX_ID = 64
ID_RULE = "letters, digits, '_' or '-' (up to 64 characters, starting with a letter or digit)"


def _kept(char: str) -> bool:
    return unicodedata.category(char)[0] in "LMN"


def slug(name: str) -> str:
    """`Brenna Ironhand` → `brenna_ironhand`, `薛宝钗` → `薛宝钗`; a name with no letter or digit
    at all (`???`) gets `c_` and a short digest of the name, so distinct names stay distinct."""
    text = unicodedata.normalize("NFKC", name).casefold()
    text = "".join(c if _kept(c) else "_" for c in text)
    text = re.sub(r"_+", "_", text).strip("_")[:MAX_ID].rstrip("_")
    while text and not unicodedata.category(text[0]).startswith(("L", "N")):
        text = text[1:]  # a combining mark cannot start a name
    if text:
        return text
    return "c_" + hashlib.sha256(name.encode("utf-8", "replace")).hexdigest()[:10]


def is_id(value: str) -> bool:
    """Whether `value` can be an id as typed (by `--as` or a new character)."""
    return (
        0 < len(value) <= MAX_ID
        and unicodedata.category(value[0])[0] in "LN"
        and all(_kept(c) or c in "_-" for c in value)
        and value == unicodedata.normalize("NFKC", value).casefold()
    )
