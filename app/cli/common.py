"""Flags shared by several sub-commands."""

from __future__ import annotations

import argparse


def add_model_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model", "-m", metavar="M", help="model id, name or GGUF path (default: the bundled SmolLM2)"
    )
    parser.add_argument(
        "--template",
        "-t",
        metavar="FAMILY",
        help="prompt format: nemotron, phi3, gemma, llama3, chatml, mistral, or gguf "
        "(the file's own template; the default when it has one)",
    )


def text_arg(value: str) -> str:
    """An argument that is chat text, not a path: bytes that are not UTF-8 (which argv keeps as
    lone surrogates) become U+FFFD, so the text can be tokenized and stored."""
    from app.untrusted import scrub

    cleaned: str = scrub(value)[0]
    return cleaned


def add_character_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("character", metavar="CHARACTER", help="a character id or a sheet file path")
    parser.add_argument("--user", "-u", metavar="NAME", type=text_arg, help="your name in the chat")
