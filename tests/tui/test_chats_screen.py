"""The chats manager on its own (Pilot, real SQLite store) and through F8 / Ctrl+B in the app."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import wait_until
from textual.app import App
from textual.widgets import DataTable, Input

from app.home import Home
from app.memory.store import ChatStore, add_bookmark, list_bookmarks
from app.tui.screens.ask import AskDialog
from app.tui.screens.chats import ChatsScreen
from app.tui.screens.confirm import ConfirmDialog
from app.tui.screens.library import Choice


@pytest.fixture
def store(lw_home: Home) -> Iterator[ChatStore]:
    opened = ChatStore.open(lw_home)
    yield opened
    opened.close()


def _seed(store: ChatStore) -> tuple[int, int, list[int]]:
    one = store.create_chat("brenna", title="Market day")
    ids = [
        store.add_message(one.id, role, text).id
        for role, text in [
            ("assistant", "Welcome."),
            ("user", "The anvil please."),
            ("assistant", "Forty."),
        ]
    ]
    two = store.create_chat("kestrel")
    store.add_message(two.id, "assistant", "Bounty?")
    return one.id, two.id, ids


class _Host(App[None]):
    def __init__(
        self,
        store: ChatStore,
        exports: Path,
        current: int | None = None,
        character: str | None = "brenna",
    ) -> None:
        super().__init__()
        self.store, self.exports, self.current = store, exports, current
        self.character = character
        self.results: list[Choice | None] = []

    def on_mount(self) -> None:
        self.push_screen(
            ChatsScreen(
                self.store, character=self.character, current=self.current, exports=self.exports
            ),
            self.results.append,
        )


def _rows(app: App[None]) -> list[list[str]]:
    table = app.screen.query_one("#chats-table", DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def test_rename_then_open(store: ChatStore, tmp_path: Path) -> None:
    one, two, _ = _seed(store)
    app = _Host(store, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        assert [r[0] for r in _rows(app)] == [str(two), str(one)]
        await pilot.press("r")
        await wait_until(pilot, lambda: isinstance(app.screen, AskDialog))
        await pilot.press(*"Hunt", "enter")
        await wait_until(
            pilot, lambda: isinstance(app.screen, ChatsScreen) and _rows(app)[0][2] == "Hunt"
        )
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: bool(app.results))
    assert store.get_chat(two).title == "Hunt"
    assert app.results == [Choice("brenna", one)]


async def test_delete_asks_first_and_no_keeps_the_chat(store: ChatStore, tmp_path: Path) -> None:
    one, two, _ = _seed(store)
    app = _Host(store, tmp_path, current=one)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("down", "d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        assert "3 messages" in str(app.screen.query_one("#confirm-question").render())
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, ChatsScreen))
        assert len(store.list_chats()) == 2
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_until(
            pilot, lambda: isinstance(app.screen, ChatsScreen) and len(_rows(app)) == 1
        )
        assert [c.id for c in store.list_chats()] == [two]
        await pilot.press("escape")  # the open chat is gone: the app is asked to reopen
        await wait_until(pilot, lambda: bool(app.results))
    assert app.results == [Choice("brenna")]


async def test_search_across_chats_then_back_with_escape(store: ChatStore, tmp_path: Path) -> None:
    one, _, _ = _seed(store)
    app = _Host(store, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("slash", *"anvil", "enter")
        await wait_until(pilot, lambda: len(_rows(app)) == 1 and "anvil" in _rows(app)[0][3])
        await pilot.press("escape")  # leaves the search box: back to all chats
        await wait_until(pilot, lambda: len(_rows(app)) == 2)
        await pilot.press("slash", *"anvil", "enter")
        await wait_until(pilot, lambda: len(_rows(app)) == 1)
        app.screen.query_one("#chats-table").focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: bool(app.results))
    assert app.results == [Choice("brenna", one)]


async def test_bookmarks_jump_back_and_branch(store: ChatStore, tmp_path: Path) -> None:
    one, _, ids = _seed(store)
    add_bookmark(store, one, "asked", ids[1])
    app = _Host(store, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("down", "b")
        await wait_until(pilot, lambda: _rows(app) and _rows(app)[0][0] == "asked")
        await pilot.press("n")
        await wait_until(pilot, lambda: bool(app.results))
    branch = app.results[0]
    assert branch is not None and branch.chat_id not in (None, one)
    assert [m.content for m in store.active_path(branch.chat_id)][-1] == "The anvil please."

    again = _Host(store, tmp_path)
    async with again.run_test(size=(80, 24)) as pilot:
        table = again.screen.query_one("#chats-table", DataTable)
        table.move_cursor(row=[r[0] for r in _rows(again)].index(str(one)))
        await pilot.press("b")
        await wait_until(pilot, lambda: _rows(again) and _rows(again)[0][0] == "asked")
        await pilot.press("enter")
        await wait_until(pilot, lambda: bool(again.results))
    assert again.results == [Choice("brenna", one)]
    assert [m.id for m in store.active_path(one)] == ids[:2]


async def test_export_then_import_round_trip(store: ChatStore, tmp_path: Path) -> None:
    one, _, _ = _seed(store)
    app = _Host(store, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("down", "x")
        await wait_until(pilot, lambda: isinstance(app.screen, AskDialog))
        assert app.screen.query_one(Input).value == str(tmp_path / f"chat-{one}.jsonl")
        await pilot.press("enter")
        await wait_until(pilot, lambda: (tmp_path / f"chat-{one}.jsonl").is_file())
        lines = (tmp_path / f"chat-{one}.jsonl").read_text().splitlines()
        assert json.loads(lines[-1])["mes"] == "Forty."
        await pilot.press("i")
        await wait_until(pilot, lambda: isinstance(app.screen, AskDialog))
        app.screen.query_one(Input).value = str(tmp_path / f"chat-{one}.jsonl")
        await pilot.press("enter")
        await wait_until(
            pilot, lambda: isinstance(app.screen, ChatsScreen) and len(_rows(app)) == 3
        )
        await pilot.press("i")
        await wait_until(pilot, lambda: isinstance(app.screen, AskDialog))
        app.screen.query_one(Input).value = str(tmp_path / "missing.jsonl")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ChatsScreen))
        assert any("missing.jsonl" in n.message for n in app._notifications)
    imported = store.list_chats()[0]
    assert imported.character_id == "brenna" and imported.message_count == 3


async def test_import_of_a_file_naming_nobody_asks_whose_it_is(
    store: ChatStore, tmp_path: Path
) -> None:
    source = tmp_path / "anon.jsonl"
    header = {"chat_metadata": {}, "user_name": "unused", "character_name": "unused"}
    source.write_text(
        json.dumps(header) + "\n" + json.dumps({"is_user": True, "mes": "Hello?"}) + "\n",
        encoding="utf-8",
    )
    app = _Host(store, tmp_path, character=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("i")
        await wait_until(pilot, lambda: isinstance(app.screen, AskDialog))
        await pilot.press(*str(source), "enter")
        await wait_until(
            pilot, lambda: isinstance(app.screen, AskDialog) and "whose" in app.screen.prompt
        )
        await pilot.press(*"mira", "enter")
        await wait_until(pilot, lambda: any(c.character_id == "mira" for c in store.list_chats()))
    chat = next(c for c in store.list_chats() if c.character_id == "mira")
    assert chat.message_count == 1


async def test_f8_and_ctrl_b_in_the_app(lw_home: Home) -> None:
    from tui.fake_engine import FakeEngine

    from app.tui.app import LoreweaverApp

    app = LoreweaverApp(lw_home, loader=lambda info, settings: FakeEngine())
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.session is not None)
        assert app.store is not None and app.store.list_chats() == []  # nothing said yet
        await pilot.press(*"Hello", "enter")
        await wait_until(
            pilot,
            lambda: (
                not app.busy
                and app.session is not None
                and app.session.chat is not None
                and len(app.session.history) == 3
            ),
        )
        await pilot.press("ctrl+b")
        await wait_until(pilot, lambda: isinstance(app.screen, AskDialog))
        await pilot.press(*"first", "enter")
        assert app.session is not None and app.store is not None
        chat, store = app.session.chat, app.store
        assert chat is not None
        await wait_until(pilot, lambda: bool(list_bookmarks(store, chat.id)))
        await pilot.press("f8")
        await wait_until(pilot, lambda: isinstance(app.screen, ChatsScreen))
        assert _rows(app)[0][0] == f"● {chat.id}"
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, ChatsScreen))
        assert app.focused is app.query_one("#say")
