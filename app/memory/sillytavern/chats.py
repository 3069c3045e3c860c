"""SillyTavern chat files (JSONL): export a stored chat, import one back as a tree.

The format, as SillyTavern writes it: line 1 is the header `{"user_name", "character_name",
"create_date", "chat_metadata"}`; every further line is one message `{"name", "is_user",
"is_system", "send_date", "mes", "extra", ...}`, and a character message carries its
alternatives as `swipes` (texts), `swipe_id` (the one shown) and `swipe_info` (per-swipe dates
and `extra`). In SillyTavern `is_system: true` means "hidden from the prompt"; narrator lines are
`extra.type == "narrator"`.

A file holds one path, so export writes the active path, with each assistant turn's siblings as
its swipes (branches hanging off a swipe that is not shown are not exported). Our own data —
role, status, metadata, edit history — rides in `extra.loreweaver`, and SillyTavern's fields we
don't use are kept in the message's meta under `sillytavern` and written back on export, so a
round trip through either program loses nothing the other needs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from app.errors import LoreweaverError
from app.fsutil import write_text_atomic
from app.memory.sillytavern.chat_file import (
    KNOWN_FIELDS,
    OUR_KEY,
    ST_KEY,
    Variant,
    generated_dates,
    open_chat_file,
    scan_file,
)
from app.memory.sillytavern.dates import humanized_date
from app.memory.store import Chat, ChatStore, StoredMessage
from app.prompts.messages import Role
from app.sheets.ids import slug

HEADER_KEY = "sillytavern_header"
"""Chat meta: the header's own fields we keep as they were (its `create_date`)."""

# -- export -----------------------------------------------------------------------------------


def _ours(meta: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in meta.items() if key not in (ST_KEY, HEADER_KEY)}


def _theirs(meta: dict[str, Any]) -> dict[str, Any]:
    kept = meta.get(ST_KEY)
    return kept if isinstance(kept, dict) else {}


def _extra(store: ChatStore, message: StoredMessage) -> dict[str, Any]:
    st_extra = _theirs(message.meta).get("extra")
    extra: dict[str, Any] = dict(st_extra) if isinstance(st_extra, dict) else {}
    if message.role == "system":
        extra["type"] = "narrator"
    if isinstance(message.meta.get("model"), str):
        extra["model"] = message.meta["model"]
    if isinstance(message.meta.get("completion_tokens"), int):
        extra["token_count"] = message.meta["completion_tokens"]
    ours: dict[str, Any] = {
        "role": message.role,
        "name": message.name,
        "status": message.status,
        "meta": _ours(message.meta),
    }
    older = store.versions(message.id)[:-1]
    if older:
        ours["versions"] = older
    extra[OUR_KEY] = ours
    return extra


def _dates(message: StoredMessage, key: str, *, generated: bool) -> dict[str, Any]:
    """The message's date fields as the imported file had them (`key`: "dates" for the line,
    "swipe_info" for its swipe entry), else as we write them."""
    kept = _theirs(message.meta).get(key)
    if isinstance(kept, dict):
        return kept
    return generated_dates(message.created_at, message.meta, generated=generated)


def _message_line(
    store: ChatStore, message: StoredMessage, chat: Chat, character_name: str
) -> dict[str, Any]:
    default_name = {"user": chat.user_name, "assistant": character_name, "system": "System"}
    line: dict[str, Any] = {}
    fields = _theirs(message.meta).get("fields")
    if isinstance(fields, dict):
        line.update((k, v) for k, v in fields.items() if k not in KNOWN_FIELDS)
    line.update(
        name=message.name or default_name[message.role],
        is_user=message.role == "user",
        is_system=bool(message.meta.get("hidden")),
        mes=message.content,
        extra=_extra(store, message),
    )
    generated = message.role == "assistant"
    line.update(_dates(message, "dates", generated=generated))
    if generated:
        swipes = store.swipes(message.id)
        shown = _theirs(message.meta).get("swipe")
        line["swipes"] = [
            shown if swipe.id == message.id and isinstance(shown, str) else swipe.content
            for swipe in swipes
        ]
        line["swipe_id"] = [swipe.id for swipe in swipes].index(message.id)
        line["swipe_info"] = [
            {**_dates(swipe, "swipe_info", generated=True), "extra": _extra(store, swipe)}
            for swipe in swipes
        ]
    return line


_LINE_BREAKERS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def _json_line_text(value: dict[str, Any]) -> str:
    """One JSON line with text kept readable, except the characters that some line readers
    (Python's `splitlines`, editors) take for line breaks, which are escaped."""
    return json.dumps(value, ensure_ascii=False).translate(_LINE_BREAKERS)


def export_chat(store: ChatStore, chat_id: int, *, character_name: str | None = None) -> str:
    """The chat as SillyTavern JSONL text (`character_name` defaults to the character id)."""
    chat = store.get_chat(chat_id)
    name = character_name or chat.character_id
    header_meta = dict(_theirs(chat.meta))
    header_meta[OUR_KEY] = {
        "chat_id": chat.id,
        "character_id": chat.character_id,
        "title": chat.title,
        "meta": _ours(chat.meta),
    }
    kept = chat.meta.get(HEADER_KEY)
    kept = kept if isinstance(kept, dict) else {}
    header = {
        "user_name": chat.user_name,
        "character_name": name,
        "create_date": kept.get("create_date", humanized_date(chat.created_at)),
        "chat_metadata": header_meta,
    }
    lines = [header] + [
        _message_line(store, message, chat, name) for message in store.active_path(chat_id)
    ]
    return "".join(_json_line_text(line) + "\n" for line in lines)


def write_chat_file(
    store: ChatStore, chat_id: int, path: Path, *, character_name: str | None = None
) -> None:
    write_text_atomic(path, export_chat(store, chat_id, character_name=character_name))


# -- import ------------------------------------------------------------------------------------


class NoCharacter(LoreweaverError):
    """The file names no character (nor does the caller): ask whose chat it is."""


def import_chat(store: ChatStore, path: Path, *, character_id: str | None = None) -> Chat:
    """Read a SillyTavern chat file into a new chat; all of it is stored, or nothing.

    Names come from the messages first (SillyTavern's current headers say `unused`), then the
    header; the owner is `character_id`, else our own export's, else the character's name as an
    id. The file is read a line at a time inside the store's transaction: a bad line late in a
    huge file rolls back what was stored before it.
    """
    hints = scan_file(path)
    with open_chat_file(path, offset=hints.offset) as parsed:
        ours = parsed.chat_metadata.get(OUR_KEY)
        ours = ours if isinstance(ours, dict) else {}
        character_name = hints.character_name or parsed.character_name
        owner = (
            character_id
            or (ours.get("character_id") if isinstance(ours.get("character_id"), str) else None)
            or (slug(character_name) if character_name else None)
        )
        if not owner:
            raise NoCharacter(
                "the file names no character (no named character line, no header name); "
                "pass --character ID",
                path=path,
            )
        meta = dict(ours["meta"]) if isinstance(ours.get("meta"), dict) else {}
        theirs = {key: value for key, value in parsed.chat_metadata.items() if key != OUR_KEY}
        if theirs:
            meta[ST_KEY] = theirs
        created = parsed.created_at
        if parsed.create_date is not None and (
            created is None or parsed.create_date != humanized_date(created)
        ):
            meta[HEADER_KEY] = {"create_date": parsed.create_date}
        meta["imported_from"] = path.name
        title = ours.get("title") if isinstance(ours.get("title"), str) else path.stem
        with store.transaction():
            chat = store.create_chat(
                owner,
                title=title,
                user_name=hints.user_name or parsed.user_name or "User",
                meta=meta,
                created_at=parsed.created_at,
            )
            parent: int | None = None
            for turn in parsed.turns:
                ids = [_store_variant(store, chat.id, turn.role, v, parent) for v in turn.variants]
                parent = store.select(ids[turn.active]).id if len(ids) > 1 else ids[0]
            return store.get_chat(chat.id)


def _store_variant(
    store: ChatStore, chat_id: int, role: Role, variant: Variant, parent: int | None
) -> int:
    texts = [*variant.versions, variant.content]
    message = store.add_message(
        chat_id,
        role,
        texts[0],
        parent_id=parent,
        name=variant.name,
        meta=variant.meta,
        status=variant.status,
        created_at=variant.created_at,
    )
    for text in texts[1:]:
        store.edit(message.id, text)
    return message.id
