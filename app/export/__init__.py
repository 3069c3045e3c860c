"""Dialogue exports: any chat tree (one-to-one, group, scene) as the files game engines and
writers' tools read. `load_dialogue` reads the tree; each format module writes it."""

from __future__ import annotations

from collections.abc import Callable

from app.errors import LoreweaverError
from app.export import canonical, godot, ink, renpy, screenplay, strings_csv, twee, yarn
from app.export.graph import Dialogue, Line, Variant, load_dialogue, stamp_dialogue
from app.memory.store import ChatStore

FORMATS: dict[str, tuple[str, Callable[[Dialogue], str]]] = {
    "json": ("json", canonical.export),
    "csv": ("csv", strings_csv.export),
    "yarn": ("yarn", yarn.export),
    "ink": ("ink", ink.export),
    "renpy": ("rpy", renpy.export),
    "twee": ("twee", twee.export),
    "godot": ("dialogue", godot.export),
    "markdown": ("md", screenplay.export),
}
"""format name → (file extension, writer)."""


def export_chat(store: ChatStore, chat_id: int, form: str) -> str:
    """The whole tree of a chat in one format (same tree ⇒ the same text, byte for byte); its
    line keys are kept in the store from now on, so its ids outlive later edits (`keys`)."""
    if form not in FORMATS:
        raise LoreweaverError(f"unknown export format {form!r} (known: {', '.join(FORMATS)})")
    return FORMATS[form][1](stamp_dialogue(store, chat_id))


__all__ = [
    "Dialogue",
    "FORMATS",
    "Line",
    "Variant",
    "export_chat",
    "load_dialogue",
    "stamp_dialogue",
]
