"""`loreweaver chats`: list, show, export, import and delete stored chats; see and set state
(rename, search, bookmarks and branches: `chats_manage`).

Output is plain text for people and `--json` for scripts; chat ids are the numbers `list` shows.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.cli import chats_manage
from app.cli.common import text_arg
from app.text import safe_json, safe_line, safe_text

if TYPE_CHECKING:
    from app.home import Home
    from app.memory.store import ChatStore, StoredMessage


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    listing = actions.add_parser("list", help="chats, newest first (ids, character, size, date)")
    listing.add_argument("character", nargs="?", metavar="CHARACTER", help="only this character's")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")

    show = actions.add_parser("show", help="print a chat's active path")
    show.add_argument("chat_id", type=int, metavar="ID")
    show.add_argument(
        "--json", action="store_true", help="print JSON, with each message's metadata"
    )

    export = actions.add_parser("export", help="write a chat as SillyTavern JSONL")
    export.add_argument("chat_id", type=int, metavar="ID")
    export.add_argument(
        "-o", "--output", metavar="FILE", default="-", help="the .jsonl file (default: stdout)"
    )

    load = actions.add_parser("import", help="read a SillyTavern JSONL chat file")
    load.add_argument("file", type=Path, metavar="FILE")
    load.add_argument(
        "--character",
        metavar="ID",
        type=text_arg,
        help="whose chat it is (default: the character named in the file's messages or header)",
    )

    delete = actions.add_parser("delete", help="delete a chat and all its messages")
    delete.add_argument("chat_id", type=int, metavar="ID")
    delete.add_argument("--yes", "-y", action="store_true", help="do not ask first")

    state = actions.add_parser(
        "state", help="the NPC's state variables and trust in a chat; NAME VALUE sets one"
    )
    state.add_argument("chat_id", type=int, metavar="ID")
    state.add_argument("name", nargs="?", metavar="NAME", help="a variable, or trust:NAME")
    state.add_argument("value", nargs="?", metavar="VALUE")
    state.add_argument("--json", action="store_true", help="print JSON instead of lines")
    chats_manage.configure(actions)

    actions.add_parser("check", help="look for damage in the chat database (exit 1 if damaged)")
    actions.add_parser(
        "repair",
        help="salvage every readable chat into a new database (the old file is kept beside it)",
    )


def run(args: argparse.Namespace) -> int:
    from app.home import home
    from app.memory.store import ChatStore

    where = home()
    if args.action == "check":
        return _check(where)
    if args.action == "repair":
        return _repair(where)
    with ChatStore.open(where) as store:
        if args.action == "list":
            return _list(store, args.character, as_json=args.json)
        if args.action == "show":
            return _show(store, args.chat_id, as_json=args.json)
        if args.action == "export":
            return _export(store, where, args.chat_id, args.output)
        if args.action == "import":
            return _import(store, where, args.file, args.character)
        if args.action == "state":
            return _state(store, where, args)
        if args.action in chats_manage.ACTIONS:
            return chats_manage.run(store, args)
        return _delete(store, args.chat_id, yes=args.yes)


def _delete(store: ChatStore, chat_id: int, *, yes: bool) -> int:
    """Delete a chat: asks first on a terminal; elsewhere only with --yes."""
    from app.errors import LoreweaverError

    chat = store.get_chat(chat_id)
    if not yes:
        count = len(store.active_path(chat_id))
        what = f"chat {chat_id} with {chat.character_id} ({count} messages)"
        if not sys.stdin.isatty():
            raise LoreweaverError(f"deleting {what} cannot be undone: add --yes to confirm")
        answer = input(f"Delete {what}? This cannot be undone. [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("kept")
            return 1
    store.delete_chat(chat_id)
    print(f"deleted chat {chat_id}")
    return 0


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M")


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp).astimezone().isoformat(timespec="seconds")


def _list(store: ChatStore, character: str | None, *, as_json: bool) -> int:
    chats = store.list_chats(character)
    if as_json:
        rows = [
            {
                "id": chat.id,
                "character": chat.character_id,
                "title": chat.title,
                "message_count": chat.message_count,
                "created_at": _iso(chat.created_at),
                "updated_at": _iso(chat.updated_at),
                "last_message": chat.last_message,
            }
            for chat in chats
        ]
        print(safe_json(json.dumps(rows, ensure_ascii=False, indent=2)))
        return 0
    if not chats:
        print(f"no chats with {safe_line(character)}" if character else "no chats yet")
        return 0
    table = [("ID", "CHARACTER", "MESSAGES", "UPDATED", "TITLE")] + [
        (
            str(c.id),
            safe_line(c.character_id),
            str(c.message_count),
            _when(c.updated_at),
            safe_line(c.title or ""),
        )
        for c in chats
    ]
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    for row in table:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[4]]).rstrip())
    return 0


def _swipe(store: ChatStore, message: StoredMessage) -> tuple[int, int]:
    ids = [m.id for m in store.swipes(message.id)]
    return ids.index(message.id) + 1, len(ids)


def _show(store: ChatStore, chat_id: int, *, as_json: bool) -> int:
    chat = store.get_chat(chat_id)
    path = store.active_path(chat_id)
    if as_json:
        messages: list[dict[str, Any]] = []
        for message in path:
            position, count = _swipe(store, message)
            messages.append(
                {
                    "id": message.id,
                    "parent_id": message.parent_id,
                    "role": message.role,
                    "name": message.name,
                    "content": message.content,
                    "status": message.status,
                    "swipe": position,
                    "swipes": count,
                    "created_at": _iso(message.created_at),
                    "meta": message.meta,
                }
            )
        out = {
            "id": chat.id,
            "character": chat.character_id,
            "title": chat.title,
            "user_name": chat.user_name,
            "created_at": _iso(chat.created_at),
            "updated_at": _iso(chat.updated_at),
            "meta": chat.meta,
            "messages": messages,
        }
        print(safe_json(json.dumps(out, ensure_ascii=False, indent=2)))
        return 0
    title = f' "{safe_line(chat.title)}"' if chat.title else ""
    print(
        f"chat {chat.id} with {safe_line(chat.character_id)}{title}: {len(path)} messages, "
        f"updated {_when(chat.updated_at)}"
    )
    for message in path:
        speaker = message.name or {"user": chat.user_name, "assistant": chat.character_id}.get(
            message.role, "System"
        )
        position, count = _swipe(store, message)
        notes = [f"{position}/{count}"] if count > 1 else []
        if message.status == "failed":
            notes.append(f"failed: {message.meta.get('error', 'unknown reason')}")
        elif message.status != "complete":
            notes.append(message.status)
        note = f" [{', '.join(notes)}]" if notes else ""
        print(f"#{message.id} {safe_line(speaker)}{note}: {safe_text(message.content)}")
    return 0


def _character_name(home: Home, character_id: str) -> str | None:
    """The sheet's display name when the character is installed (else the file keeps the id)."""
    from app.errors import LoreweaverError
    from app.sheets import library

    try:
        return library.load(home, character_id)[1].name
    except LoreweaverError:
        return None


def _export(store: ChatStore, home: Home, chat_id: int, output: str) -> int:
    from app.export import stamp_dialogue
    from app.memory.sillytavern import export_chat, write_chat_file

    chat = store.get_chat(chat_id)
    stamp_dialogue(store, chat_id)  # the file carries the line keys: a copy keeps its line ids
    name = _character_name(home, chat.character_id)
    if isinstance(chat.meta.get("group"), dict):  # a group scene: SillyTavern's group format
        from app.fsutil import write_text_atomic
        from app.group.transfer import export_scene

        text = export_scene(store, chat_id)
        if output == "-":
            sys.stdout.write(safe_json(text))
            return 0
        write_text_atomic(Path(output), text)
        print(f"exported group scene {chat_id} to {safe_line(output)}")
        return 0
    if output == "-":
        sys.stdout.write(safe_json(export_chat(store, chat_id, character_name=name)))
        return 0
    target = Path(output)
    write_chat_file(store, chat_id, target, character_name=name)
    count = len(store.active_path(chat_id))
    print(f"exported chat {chat_id} ({count} messages) to {safe_line(str(target))}")
    return 0


def _import(store: ChatStore, home: Home, file: Path, character: str | None) -> int:
    from app.errors import LoreweaverError
    from app.memory.sillytavern import import_chat
    from app.sheets import library

    if character is not None and not character.strip():
        raise LoreweaverError("--character must not be empty")
    from app.group.transfer import import_scene, is_group_file

    if is_group_file(file):
        if character is not None:
            raise LoreweaverError("a group chat's cast comes from the file; drop --character")
        chat = import_scene(home, store, file)
        count = len(store.active_path(chat.id))
        print(f"imported group scene {chat.id} ({safe_line(chat.character_id)}): {count} messages")
        return 0
    chat = import_chat(store, file, character_id=character)
    known = {entry.id for entry in library.entries(home)}
    if chat.character_id not in known:
        print(
            f"note: no character {safe_line(repr(chat.character_id))} is installed; "
            "the chat is kept under it",
            file=sys.stderr,
        )
    count = len(store.active_path(chat.id))
    print(f"imported chat {chat.id} for {safe_line(chat.character_id)}: {count} messages")
    return 0


def _check(home: Home) -> int:
    from app.errors import LoreweaverError
    from app.memory.store import check

    report = check(home.database)
    if not report.exists:
        print(f"no chat database yet ({report.path})")
        return 0
    if report.ok:
        print(f"chat database is healthy ({report.path})")
        return 0
    for problem in report.problems:
        print(f"damaged: {problem}")
    raise LoreweaverError(
        f"chat database is damaged ({len(report.problems)} problem(s)); run "
        "`loreweaver chats repair` to salvage what is readable into a new database",
        path=report.path,
    )


def _repair(home: Home) -> int:
    from app.memory.store import repair

    report = repair(home.database)
    saved = ", ".join(
        f"{count} {table}"
        for table, count in report.saved.items()
        if count or table in ("chats", "messages")
    )
    print(f"saved {saved} into a new {report.new_path}")
    if report.unreadable:
        lost = ", ".join(f"{count} in {table}" for table, count in report.unreadable.items())
        print(f"unreadable rows skipped: {lost}")
    if report.broken:
        print(f"unreadable (all of it, or past a damaged page): {', '.join(report.broken)}")
    if report.recreated:
        print(
            f"{report.recreated} chats lost their own record; their messages are kept "
            "under character 'recovered'"
        )
    if report.dropped:
        dropped = ", ".join(f"{count} {table}" for table, count in report.dropped.items())
        print(f"left out (what they belonged to was lost): {dropped}")
    if report.reattached:
        print(
            f"{report.reattached} messages lost their parent and were re-attached below the "
            "nearest earlier message"
        )
    print(f"the damaged file is kept as {report.old_path}")
    return 0


def _state(store: ChatStore, home: Home, args: argparse.Namespace) -> int:
    from app.errors import LoreweaverError
    from app.memory.chat_state import state_entries, state_update
    from app.sheets import library

    chat = store.get_chat(args.chat_id)
    if args.name is not None and args.value is None:
        raise LoreweaverError(f"give a value for {args.name!r}: chats state ID NAME VALUE")
    _, sheet = library.load(home, chat.character_id)
    if args.name is not None:
        update, entry = state_update(sheet, chat.meta, args.name, args.value, user=chat.user_name)
        chat = store.update_chat(chat.id, meta=update)
        entries = [entry]
    else:
        entries = state_entries(sheet, chat.meta, user=chat.user_name)
    if args.json:
        rows = [
            {"name": e.key, "type": e.type, "value": e.value, "default": e.default} for e in entries
        ]
        print(safe_json(json.dumps(rows, ensure_ascii=False, indent=2)))
        return 0
    if not entries:
        print(f"{safe_line(chat.character_id)} has no state variables or relationships")
    for entry in entries:
        print(safe_line(f"{entry.key} = {entry.shown()}"))
    return 0
