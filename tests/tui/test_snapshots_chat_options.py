"""Snapshots of the per-chat dialogs at 80×24 and 120×40: author's note (F6), state and trust
(F7), chats manager (F8) and personas (F3), each hosted on its own.

Chat times are pinned (and shown in UTC) so the pictures do not change with the clock.
Regenerate after an intended change with
`pytest tests/tui/test_snapshots_chat_options.py --snapshot-update`.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from support import SnapCompare
from textual.app import App
from textual.screen import Screen

from app.home import Home
from app.memory.authors_note import AuthorsNote
from app.memory.chat_state import state_entries
from app.memory.store import ChatStore, add_bookmark
from app.personas import Personas, add_persona, with_default
from app.sheets import library
from app.tui.app import LoreweaverApp
from app.tui.screens.authors_note import AuthorsNoteScreen
from app.tui.screens.chats import ChatsScreen
from app.tui.screens.persona import PersonaScreen
from app.tui.screens.state_panel import StatePanel

SIZES = [(80, 24), (120, 40)]
PINNED = 1_767_225_600.0  # 2026-01-01 00:00 UTC


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


class _Host(App[None]):
    CSS_PATH = LoreweaverApp.CSS_PATH
    """The app's own styles (dialog width and frame), as the dialogs appear in it."""

    def __init__(self, make: Callable[[], Screen[Any]]) -> None:
        super().__init__()
        self.make = make

    def on_mount(self) -> None:
        self.push_screen(self.make())


@pytest.mark.parametrize("size", SIZES)
def test_authors_note_dialog(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    note = AuthorsNote(
        text="{{char}} is tired after a long day at the forge.", depth=2, frequency=3, role="user"
    )
    assert snap_compare(_Host(lambda: AuthorsNoteScreen(note)), terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_state_panel(snap_compare: SnapCompare, lw_home: Home, size: tuple[int, int]) -> None:
    _, sheet = library.load(lw_home, "brenna")
    entries = state_entries(sheet, {"state": {"trust": 3}, "trust": {"{{user}}": 20}}, user="Ann")
    assert snap_compare(_Host(lambda: StatePanel(entries)), terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_persona_dialog(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    saved = with_default(
        add_persona(
            add_persona(Personas(), "Wren", "A courier."),
            "Sir Bob",
            "A knight.",
            character="brenna",
        ),
        "Wren",
    )
    assert snap_compare(
        _Host(lambda: PersonaScreen(saved, "Wren", "A courier.", "brenna")), terminal_size=size
    )


@pytest.mark.parametrize("size", SIZES)
def test_chats_manager(snap_compare: SnapCompare, lw_home: Home, size: tuple[int, int]) -> None:
    store = ChatStore.open(lw_home)
    one = store.create_chat("brenna", title="Market day")
    for role, text in [
        ("assistant", "Welcome to the forge."),
        ("user", "The anvil please."),
        ("assistant", "Forty silver, and not a copper less."),
    ]:
        store.add_message(one.id, role, text)
    two = store.create_chat("kestrel")
    store.add_message(two.id, "assistant", "Bounty?")
    add_bookmark(store, one.id, "asked")
    store.close()
    conn = sqlite3.connect(lw_home.database)
    conn.execute("UPDATE chats SET created_at = ?, updated_at = ? + id", (PINNED, PINNED))
    conn.commit()
    conn.close()
    store = ChatStore.open(lw_home)
    try:
        assert snap_compare(
            _Host(
                lambda: ChatsScreen(
                    store, character="brenna", current=one.id, exports=lw_home.root / "exports"
                )
            ),
            terminal_size=size,
        )
    finally:
        store.close()
