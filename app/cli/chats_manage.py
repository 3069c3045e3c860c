"""`loreweaver chats` actions that change or find chats: rename, search, bookmarks, branch.

Registered by `app.cli.chats` (the listing, showing and file actions live there).
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from app.text import safe_json, safe_line

if TYPE_CHECKING:
    from app.memory.store import ChatStore

ACTIONS = ("rename", "search", "bookmark", "bookmarks", "jump", "branch")


def configure(actions: Any) -> None:
    """Add this module's sub-commands to `chats`' sub-parsers."""
    rename = actions.add_parser("rename", help="give a chat a title")
    rename.add_argument("chat_id", type=int, metavar="ID")
    rename.add_argument("title", metavar="TITLE")

    search = actions.add_parser("search", help="find messages across all chats (full text)")
    search.add_argument("text", metavar="TEXT")
    search.add_argument("--chat", type=int, metavar="ID", help="only this chat")
    search.add_argument("--limit", type=int, default=20, metavar="N", help="at most N (20)")
    search.add_argument("--json", action="store_true", help="print JSON instead of lines")

    mark = actions.add_parser("bookmark", help="name a point of a chat (default: its end)")
    mark.add_argument("chat_id", type=int, metavar="ID")
    mark.add_argument("name", metavar="NAME")
    mark.add_argument("--message", type=int, metavar="MSG", help="bookmark this message id")
    mark.add_argument("--remove", action="store_true", help="remove the bookmark instead")

    marks = actions.add_parser("bookmarks", help="a chat's bookmarks")
    marks.add_argument("chat_id", type=int, metavar="ID")
    marks.add_argument("--json", action="store_true", help="print JSON instead of lines")

    jump = actions.add_parser(
        "jump", help="take a chat back to a bookmark (what followed stays, as a branch)"
    )
    jump.add_argument("chat_id", type=int, metavar="ID")
    jump.add_argument("name", metavar="NAME")

    branch = actions.add_parser("branch", help="a new chat from a bookmark or a message")
    branch.add_argument("chat_id", type=int, metavar="ID")
    where = branch.add_mutually_exclusive_group(required=True)
    where.add_argument("--bookmark", metavar="NAME")
    where.add_argument("--message", type=int, metavar="MSG")


def run(store: ChatStore, args: argparse.Namespace) -> int:
    from app.errors import LoreweaverError
    from app.memory.store import add_bookmark, find_bookmark, jump_to, remove_bookmark

    if args.action == "rename":
        return _rename(store, args.chat_id, args.title)
    if args.action == "search":
        return _search(store, args)
    if args.action == "bookmark":
        if args.remove:
            remove_bookmark(store, args.chat_id, args.name)
            print(safe_line(f"removed bookmark {args.name!r} from chat {args.chat_id}"))
            return 0
        mark = add_bookmark(store, args.chat_id, args.name, args.message)
        print(
            safe_line(
                f"bookmarked message {mark.message_id} of chat {mark.chat_id} as {mark.name!r}"
            )
        )
        return 0
    if args.action == "bookmarks":
        return _bookmarks(store, args.chat_id, as_json=args.json)
    if args.action == "jump":
        message = jump_to(store, args.chat_id, args.name)
        count = len(store.active_path(args.chat_id))
        print(
            safe_line(
                f"chat {args.chat_id} is back at {args.name!r} (message {message.id}, "
                f"{count} messages on its path)"
            )
        )
        return 0
    message_id = (
        find_bookmark(store, args.chat_id, args.bookmark).message_id
        if args.bookmark is not None
        else args.message
    )
    if store.get_message(message_id).chat_id != args.chat_id:
        raise LoreweaverError(f"message {message_id} is not in chat {args.chat_id}")
    chat = store.branch(message_id)
    print(safe_line(f"branched chat {chat.id} ({chat.title}) from chat {args.chat_id}"))
    return 0


def _rename(store: ChatStore, chat_id: int, title: str) -> int:
    from app.errors import LoreweaverError

    cleaned = " ".join(title.split())
    if not cleaned:
        raise LoreweaverError("a chat title cannot be empty")
    store.update_chat(chat_id, title=cleaned)
    print(safe_line(f"chat {chat_id} is now {cleaned!r}"))
    return 0


def _search(store: ChatStore, args: argparse.Namespace) -> int:
    from app.errors import LoreweaverError
    from app.memory.recall import search

    if args.limit < 1:
        raise LoreweaverError(f"--limit must be at least 1, got {args.limit}")
    if args.chat is not None:
        store.get_chat(args.chat)
    found = search(store, args.chat, args.text, limit=args.limit)
    chats = {m.chat_id: store.get_chat(m.chat_id) for m in found}
    if args.json:
        rows = [
            {
                "chat": m.chat_id,
                "character": chats[m.chat_id].character_id,
                "title": chats[m.chat_id].title,
                "message": m.id,
                "role": m.role,
                "content": m.content,
            }
            for m in found
        ]
        print(safe_json(json.dumps(rows, ensure_ascii=False, indent=2)))
        return 0
    if not found:
        print(safe_line(f"no messages match {args.text!r}"))
    for m in found:
        chat = chats[m.chat_id]
        where = f"chat {chat.id} ({chat.character_id}{', ' + chat.title if chat.title else ''})"
        text = " ".join(m.content.split())
        more = "…" if len(text) > 160 else ""
        print(safe_line(f"{where} #{m.id} {m.role}: {text[:160]}{more}"))
    return 0


def _bookmarks(store: ChatStore, chat_id: int, *, as_json: bool) -> int:
    from app.memory.store import list_bookmarks

    marks = list_bookmarks(store, chat_id)
    if as_json:
        rows = [
            {
                "name": b.name,
                "message": b.message_id,
                "preview": store.get_message(b.message_id).content[:200],
            }
            for b in marks
        ]
        print(safe_json(json.dumps(rows, ensure_ascii=False, indent=2)))
        return 0
    if not marks:
        print(safe_line(f"chat {chat_id} has no bookmarks"))
    for mark in marks:
        text = " ".join(store.get_message(mark.message_id).content.split())
        print(safe_line(f"{mark.name}: message {mark.message_id}: {text[:100]}"))
    return 0
