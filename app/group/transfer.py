"""Group scenes as SillyTavern group-chat JSONL: the one-to-one chat file (header line, then one
message per line) with every line's speaker in `name`, an NPC's card in `original_avatar`, and
"unused" as the header's character, as SillyTavern writes a group chat."""

from __future__ import annotations

import json
from pathlib import Path

from app.errors import LoreweaverError
from app.group.cast import load_cast
from app.group.scene import GROUP_META, scene_id
from app.home import Home
from app.memory.sillytavern import OUR_KEY, export_chat, import_chat, open_chat_file
from app.memory.store import Chat, ChatStore
from app.sheets.ids import slug

GROUP_CHARACTER = "unused"
"""What SillyTavern writes as a group chat's `character_name`."""


def export_scene(store: ChatStore, chat_id: int) -> str:
    """The scene's active path as SillyTavern group-chat JSONL text."""
    chat = store.get_chat(chat_id)
    if not isinstance(chat.meta.get(GROUP_META), dict):
        raise LoreweaverError(f"chat {chat_id} is not a group scene")
    out = []
    for number, raw in enumerate(export_chat(store, chat_id).splitlines()):
        line = json.loads(raw)
        if number == 0:
            line["character_name"] = GROUP_CHARACTER
        else:
            ours = line.get("extra", {}).get(OUR_KEY, {})
            speaker = ours.get("meta", {}).get("speaker")
            if isinstance(speaker, str) and speaker:
                line["original_avatar"] = f"{speaker}.png"
        out.append(json.dumps(line) + "\n")  # ASCII escapes: no line breaker survives
    return "".join(out)


def _cast_of(path: Path) -> list[str]:
    """The cast a group-chat file names: ours in its header, else the NPC lines' cards (or
    names), in order of first appearance."""
    with open_chat_file(path) as parsed:
        ours = parsed.chat_metadata.get(OUR_KEY)
        saved = ours.get("meta", {}).get(GROUP_META) if isinstance(ours, dict) else None
        if isinstance(saved, dict) and isinstance(saved.get("cast"), list):
            return [str(ref) for ref in saved["cast"]]
        ids: list[str] = []
        for turn in parsed.turns:
            if turn.role != "assistant":
                continue
            for variant in turn.variants:
                card = variant.meta.get("sillytavern", {}).get("fields", {}).get("original_avatar")
                ref = Path(card).stem if isinstance(card, str) and card else None
                ref = slug(ref or variant.name or "")
                if ref and ref not in ids:
                    ids.append(ref)
        return ids


def is_group_file(path: Path) -> bool:
    """Whether a chat file is a group chat (SillyTavern's "unused" character, or our cast)."""
    with open_chat_file(path) as parsed:
        ours = parsed.chat_metadata.get(OUR_KEY)
        saved = ours.get("meta", {}).get(GROUP_META) if isinstance(ours, dict) else None
        return parsed.character_name == GROUP_CHARACTER or isinstance(saved, dict)


def import_scene(home: Home, store: ChatStore, path: Path, cast: list[str] | None = None) -> Chat:
    """A SillyTavern group chat as a stored scene; its cast (given, or read from the file) must
    be characters that exist here, checked before anything is stored."""
    ids = cast if cast is not None else _cast_of(path)
    members = load_cast(home, ids)
    chat = import_chat(store, path, character_id=scene_id(members))
    names = {m.name for m in members}
    stray = next(
        (
            m.name
            for m in store.active_path(chat.id)
            if m.role == "assistant" and m.name not in names
        ),
        None,
    )
    if stray is not None:
        store.delete_chat(chat.id)
        raise LoreweaverError(f"a line by {stray!r} has no speaker in the cast", path=path)
    group = {"cast": [m.id for m in members], "scene": ""}
    return store.update_chat(chat.id, meta={GROUP_META: group})
