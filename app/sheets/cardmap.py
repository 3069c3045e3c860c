"""Character Card V1/V2/V3 and lorebook dicts ⇄ sheets and lorebooks, losing nothing.

Fields a card format has no place for (our NPC fields; V3 fields in a V2 card) travel in
`data.extensions["loreweaver"]` and come back on re-import; card fields we do not know are kept
on the sheet as extra keys and written back out. Lorebooks map in `app.sheets.lorebook_map`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from app.errors import LoreweaverError
from app.sheets.lenient import sheet_from_fields
from app.sheets.lorebook_map import lorebook_from_card, lorebook_to_card
from app.sheets.sheet import CardKept, Sheet
from app.sheets.validation import describe

OUR_KEY = "loreweaver"
# card field → sheet field, where the names differ
RENAMES = {
    "first_mes": "first_message",
    "mes_example": "example_dialogues",
    "character_version": "version",
}
V2_FIELDS = (
    "name",
    "description",
    "personality",
    "scenario",
    "first_mes",
    "mes_example",
    "creator_notes",
    "system_prompt",
    "post_history_instructions",
    "alternate_greetings",
    "character_book",
    "tags",
    "creator",
    "character_version",
    "extensions",
)
V3_ONLY = (
    "nickname",
    "creator_notes_multilingual",
    "source",
    "group_only_greetings",
    "creation_date",
    "modification_date",
    "assets",
)
NPC_FIELDS = (
    "role",
    "goals",
    "knowledge",
    "unknowns",
    "relationships",
    "speech_style",
    "catchphrases",
    "refusals",
    "state",
    "world",
    "avatar",
    "adapters",
)


def _validate(model: type[Any], data: dict[str, Any], where: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise LoreweaverError(f"{where}{describe(exc)}") from None


# -- character cards ----------------------------------------------------------------------------


ENVELOPE = ("spec", "spec_version", "data")
ROOT_COPIES = {"creatorcomment": "creator_notes"}
"""SillyTavern's root-level names for card fields, where they differ."""


def card_data(card: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The card's field dict and its spec ("v1", "v2", "v3").

    As in SillyTavern, `data` wins and the root's V1 copies fill what `data` lacks: some cards
    carry every field at the root and only `extensions` in `data`."""
    spec = card.get("spec")
    if spec in ("chara_card_v2", "chara_card_v3"):
        data = card.get("data")
        if not isinstance(data, dict) and not isinstance(card.get("name"), str):
            raise LoreweaverError("data: must be an object")
        filled = dict(data) if isinstance(data, dict) else {}
        for key, value in card.items():
            field = ROOT_COPIES.get(key, key)
            if field in V2_FIELDS + V3_ONLY and field not in filled and value is not None:
                filled[field] = value
        return filled, "v2" if spec == "chara_card_v2" else "v3"
    if spec is None:
        return card, "v1"
    raise LoreweaverError(f"unsupported card spec {spec!r}")


def sheet_from_card(card: dict[str, Any], source: Path | str = "card") -> Sheet:
    """The card as a sheet; odd fields are fitted or kept (`app.sheets.lenient`), the root's
    own fields and `data.avatar` kept for export (`CardKept`)."""
    data, spec = card_data(card)
    root = {k: v for k, v in card.items() if k not in ENVELOPE} if spec != "v1" else {}
    # Copies of fields every export writes are refreshed from the sheet; the rest stay as they are.
    copies = [k for k in root if ROOT_COPIES.get(k, k) in V2_FIELDS and k != "character_book"]
    kept = CardKept(
        root={k: v for k, v in root.items() if k not in copies},
        root_copies=copies,
        avatar=data.get("avatar"),
    )
    fields: dict[str, Any] = {}
    extensions = data.get("extensions")
    extensions = dict(extensions) if isinstance(extensions, dict) else {}
    ours = extensions.pop(OUR_KEY, None)
    ours = ours if isinstance(ours, dict) else {}
    for key, value in data.items():
        if key in ("extensions", "avatar"):
            continue
        if key == "character_book":
            fields[key] = (
                None
                if value is None
                else lorebook_from_card(
                    value if isinstance(value, dict) else {"entries": value}, "character_book."
                )
            )
            continue
        fields[RENAMES.get(key, key)] = value
    for key, value in ours.get("v3", {}).items() if isinstance(ours.get("v3"), dict) else ():
        fields.setdefault(key, value)
    for key in NPC_FIELDS:
        if key in ours:
            fields[key] = ours[key]
    for key, value in (ours.get("extra") or {}).items():
        fields.setdefault(key, value)
    fields["extensions"] = extensions
    if "name" not in fields:
        raise LoreweaverError("no name: not a character card (neither `data.name` nor `name`)")
    sheet, untyped = sheet_from_fields(fields, source)
    previous = ours.get("untyped")  # what our own export carried
    kept.untyped = {**(previous if isinstance(previous, dict) else {}), **untyped}
    if kept != CardKept():
        sheet.card = kept
    return sheet


def _sheet_fields(sheet: Sheet) -> dict[str, Any]:
    return sheet.model_dump(mode="json")


def sheet_to_card(sheet: Sheet, spec: str = "v2") -> dict[str, Any]:
    """A V2 or V3 card dict; whatever the spec cannot hold goes into our extension."""
    fields = _sheet_fields(sheet)
    card_names = {v: k for k, v in RENAMES.items()}
    data: dict[str, Any] = {}
    ours: dict[str, Any] = {}
    for key in NPC_FIELDS:
        value = fields.pop(key)
        if value not in (None, "", [], {}):
            ours[key] = value
    book = sheet.character_book
    fields.pop("character_book")
    kept = sheet.card or CardKept()
    fields.pop("card")
    if kept.untyped:
        ours["untyped"] = kept.untyped
    extensions = dict(fields.pop("extensions"))
    known_v2 = set(V2_FIELDS)
    for key, value in fields.items():
        card_key = card_names.get(key, key)
        if card_key in V3_ONLY and spec == "v2":
            if value not in (None, "", [], {}):
                ours.setdefault("v3", {})[key] = value
        elif card_key in known_v2 or card_key in V3_ONLY:
            data[card_key] = value
        else:
            data[card_key] = value  # a field from another tool: written back as it came
    data["character_book"] = None if book is None else lorebook_to_card(book)
    if ours:
        extensions[OUR_KEY] = ours
    data["extensions"] = extensions
    for key in V2_FIELDS:
        data.setdefault(key, [] if key in ("alternate_greetings", "tags") else "")
    if data.get("character_book") is None:
        data.pop("character_book")
    if kept.avatar is not None:
        data["avatar"] = kept.avatar
    root = {
        key: data[ROOT_COPIES.get(key, key)]
        for key in kept.root_copies
        if ROOT_COPIES.get(key, key) in data
    }
    root.update(kept.root)
    if spec == "v3":
        data.setdefault("group_only_greetings", [])
        return {**root, "spec": "chara_card_v3", "spec_version": "3.0", "data": data}
    return {**root, "spec": "chara_card_v2", "spec_version": "2.0", "data": data}
