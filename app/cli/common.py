"""Flags shared by several sub-commands."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.memory.authors_note import AuthorsNote


def add_model_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        "-m",
        metavar="M",
        help="model id, name or GGUF path (default: the bundled SmolLM2)",
    )
    parser.add_argument(
        "--template",
        "-t",
        metavar="FAMILY",
        help="prompt format: nemotron, phi3, gemma, llama3, llama31, chatml, mistral, or gguf "
        "(the file's own template; the default when it has one)",
    )


def text_arg(value: str) -> str:
    """An argument that is chat text, not a path: bytes that are not UTF-8 (which argv keeps as
    lone surrogates) become U+FFFD, so the text can be tokenized and stored."""
    from app.untrusted import scrub

    cleaned: str = scrub(value)[0]
    return cleaned


def add_character_arg(parser: argparse.ArgumentParser, *, several: bool = False) -> None:
    """`several`: one or more characters (several make a group scene)."""
    parser.add_argument(
        "character",
        metavar="CHARACTER",
        nargs="+" if several else None,
        help="a character id or a sheet file path"
        + ("; several ids make a group scene" if several else ""),
    )
    parser.add_argument("--user", "-u", metavar="NAME", type=text_arg, help="your name in the chat")
    parser.add_argument(
        "--persona", metavar="NAME", help="play as this saved persona (see `personas list`)"
    )


def add_note_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--note", metavar="TEXT", type=text_arg, help="the chat's author's note (kept with it)"
    )
    parser.add_argument(
        "--note-depth",
        type=int,
        default=0,
        metavar="N",
        help="0 (default): in the notes at the end of the prompt; N: N messages from the end",
    )
    parser.add_argument(
        "--note-frequency",
        type=int,
        default=1,
        metavar="N",
        help="insert the note every N user turns (default 1; 0 turns it off)",
    )
    parser.add_argument(
        "--note-role",
        default="system",
        metavar="ROLE",
        help="system (default), user or assistant: the role of the note's message at a depth",
    )


def note_from_args(args: argparse.Namespace) -> AuthorsNote | None:
    """The author's note the flags describe; None without `--note` (placement flags need it)."""
    from app.errors import LoreweaverError
    from app.memory.authors_note import make_note

    if args.note is None:
        given = [
            flag
            for flag, value, default in (
                ("--note-depth", args.note_depth, 0),
                ("--note-frequency", args.note_frequency, 1),
                ("--note-role", args.note_role, "system"),
            )
            if value != default
        ]
        if given:
            raise LoreweaverError(f"{given[0]} needs --note TEXT")
        return None
    return make_note(
        args.note, depth=args.note_depth, frequency=args.note_frequency, role=args.note_role
    )
