"""The dialogue export dialog from the chats manager (Pilot, real SQLite store, real files)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from dialogue_support import sample_chat
from support import wait_until
from textual.app import App
from textual.widgets import Input

from app.export import export_chat
from app.home import Home
from app.memory.store import ChatStore
from app.tui.screens.chats import ChatsScreen
from app.tui.screens.dialogue_export import DialogueExportDialog


@pytest.fixture
def store(lw_home: Home) -> Iterator[ChatStore]:
    opened = ChatStore.open(lw_home)
    yield opened
    opened.close()


class _Host(App[None]):
    def __init__(self, store: ChatStore, exports: Path) -> None:
        super().__init__()
        self.store, self.exports = store, exports

    def on_mount(self) -> None:
        self.push_screen(
            ChatsScreen(self.store, character="brenna", current=None, exports=self.exports)
        )


def _path(app: App[None]) -> str:
    return app.screen.query_one("#export-path", Input).value


async def test_choose_a_format_edit_the_file_and_export(store: ChatStore, tmp_path: Path) -> None:
    chat = sample_chat(store)["chat"]
    tmp_path = tmp_path / "exports"
    app = _Host(store, tmp_path)
    async with app.run_test(size=(100, 32)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, ChatsScreen))
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, DialogueExportDialog))
        assert _path(app) == str(tmp_path / f"chat-{chat}.json")
        await pilot.press("escape")  # changed their mind: nothing is written
        await wait_until(pilot, lambda: isinstance(app.screen, ChatsScreen))
        assert not tmp_path.exists()

        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, DialogueExportDialog))
        await pilot.press("down", "down")  # json → csv → yarn: the file name follows
        await wait_until(pilot, lambda: _path(app).endswith(".yarn"))
        await pilot.resize_terminal(70, 24)
        await pilot.press("tab", "end", *"-draft")  # an edited name stays put...
        await pilot.press("shift+tab", "down")  # ...when the format moves on to Ink
        await pilot.pause()
        assert _path(app) == str(tmp_path / f"chat-{chat}.yarn-draft")
        await pilot.press("tab", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ChatsScreen))
    written = (tmp_path / f"chat-{chat}.yarn-draft").read_text(encoding="utf-8")
    assert written == export_chat(store, chat, "ink")


async def test_a_path_that_cannot_be_written_is_a_notice(store: ChatStore, tmp_path: Path) -> None:
    sample_chat(store)
    (tmp_path / "taken").mkdir()
    app = _Host(store, tmp_path)
    async with app.run_test(size=(100, 32)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, ChatsScreen))
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, DialogueExportDialog))
        path = app.screen.query_one("#export-path", Input)
        await pilot.press("tab")
        path.value = str(tmp_path / "taken")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ChatsScreen))
        await wait_until(
            pilot, lambda: any("cannot write" in n.message for n in app._notifications)
        )
    assert list((tmp_path / "taken").iterdir()) == []
