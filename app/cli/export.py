"""`loreweaver export CHAT_ID --format F [-o FILE]`: a chat's whole tree as a dialogue file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.export import FORMATS
from app.text import safe_line


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("chat_id", type=int, metavar="CHAT_ID", help="the chat (see `chats list`)")
    parser.add_argument(
        "--format",
        dest="form",
        required=True,
        choices=list(FORMATS),
        help="json (with a JSON Schema), csv (localisation / voice-over strings), yarn, ink, "
        "renpy, twee, godot (Dialogue Manager) or markdown (a screenplay)",
    )
    parser.add_argument(
        "-o", "--output", type=Path, metavar="FILE", help="write here (default: standard output)"
    )


def run(args: argparse.Namespace) -> int:
    from app.export import export_chat
    from app.fsutil import write_text_atomic
    from app.home import home
    from app.memory.store import ChatStore

    with ChatStore.open(home()) as store:
        text = export_chat(store, args.chat_id, args.form)
    if args.output is None:
        sys.stdout.write(text)
        return 0
    write_text_atomic(args.output, text)
    print(f"wrote {safe_line(str(args.output))} ({args.form})")
    return 0
