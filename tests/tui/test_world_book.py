"""Shared world lorebooks (the ones a sheet names in `world`) edited in the app: the sample is
never written, saving makes a home copy that chats and the lore test then read."""

from __future__ import annotations

import pytest
from support import wait_until
from textual.widgets import Button, Input, TextArea
from tui.editor_support import ARIA_YAML, open_editor, settle
from tui.fake_engine import FakeEngine

from app.errors import LoreweaverError
from app.home import Home
from app.memory.lore import probe
from app.sheets import library, saving
from app.tui.app import LoreweaverApp
from app.tui.screens.editor import EditorScreen
from app.tui.screens.unsaved import UnsavedScreen
from app.tui.screens.world_book import WorldBookScreen
from app.tui.widgets.lore_editor import LoreEditor


def _words(text: str) -> int:
    return len(text.split())


def test_the_lore_probe_reads_the_world_books_and_names_them(lw_home: Home) -> None:
    (lw_home.characters / "aria.yaml").write_text(ARIA_YAML + "world: [harrowford]\n")
    _, sheet = library.load(lw_home, "aria")
    world = library.world_books(lw_home, sheet.model_copy(update={"character_book": None}))
    assert [book_id for book_id, _ in world] == ["harrowford"]
    found = probe(
        sheet.character_book,
        "A drink at the Drowned Lantern?",
        _words,
        world=world,
        char=sheet.name,
        n_ctx=4096,
    )
    fired = [line.title for line in found.fired]
    assert any(t.startswith("harrowford ") and "Drowned Lantern" in t for t in fired), fired
    assert any(t.startswith("harrowford ") and "Tone" in t for t in fired)  # constant entry
    assert "1. Dragon" in [line.title for line in found.lines]  # its own, numbered as listed


def test_saving_a_world_book_writes_a_home_copy_that_wins(lw_home: Home) -> None:
    _, brenna = library.load(lw_home, "brenna")
    sample = library.world_book_path(lw_home, brenna, "harrowford")
    before = sample.read_bytes()
    book = library.load_lorebook(sample)
    edited = book.model_copy(update={"name": "Harrowford, edited"})
    target = saving.save_world_book(lw_home, "harrowford", edited)
    assert target == lw_home.lorebooks / "harrowford.yaml"
    assert sample.read_bytes() == before
    assert library.world_book_path(lw_home, brenna, "harrowford") == target
    _, sheet = library.load(lw_home, "hobb")  # every character naming it reads the copy
    assert library.world_books(lw_home, sheet)[0][1].name == "Harrowford, edited"
    for bad in ("", "..", "../x", "a/b"):
        with pytest.raises(LoreweaverError, match="plain file name"):
            saving.save_world_book(lw_home, bad, edited)


async def test_edit_the_world_book_from_the_editor_and_test_it(lw_home: Home) -> None:
    app = LoreweaverApp(lw_home, loader=lambda info, settings: FakeEngine())
    async with app.run_test(size=(100, 34)) as pilot:
        editor = await open_editor(app, pilot, "brenna")
        await pilot.press("ctrl+t")  # the lore test already reads the world book
        await pilot.press(*"Any news from the forge quarter?")
        result = editor.query_one("#lore-test-result")
        await wait_until(pilot, lambda: "harrowford" in str(result.render()))
        assert "forge quarter" not in str(result.render())

        await pilot.click("#--content-tab-tab-lorebook")  # the Lorebook tab's heading
        await wait_until(
            pilot,
            lambda: any(b.name == "harrowford" and b.region.height for b in editor.query(Button)),
        )
        await pilot.pause()
        await pilot.click(next(b for b in editor.query(Button) if b.name == "harrowford"))
        await wait_until(pilot, lambda: isinstance(app.screen, WorldBookScreen))
        world = app.screen
        assert isinstance(world, WorldBookScreen) and world.sample
        await pilot.press("ctrl+n")  # a new entry; the cursor is in its keys box
        await pilot.pause()
        await pilot.press(*"forge quarter")
        world.query_one("#lore-name", Input).value = "Forge quarter"
        world.query_one("#lore-content", TextArea).load_text("Smoke and hammers, day and night.")
        await pilot.press("escape")  # unsaved: it asks
        await wait_until(pilot, lambda: isinstance(app.screen, UnsavedScreen))
        await pilot.press("escape")  # cancel: stay, edits kept
        await wait_until(pilot, lambda: app.screen is world)
        assert world.dirty
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: not world.dirty)
        assert not world.sample
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is editor)
        await wait_until(pilot, lambda: "Forge quarter" in str(result.render()))
        assert "✓ harrowford" in str(result.render())
    book = library.load_lorebook(lw_home.lorebooks / "harrowford.yaml")
    assert book.entries[-1].keys == ["forge quarter"]
    assert book.entries[-1].content == "Smoke and hammers, day and night."
    assert not (lw_home.characters / "brenna.yaml").exists()  # the sheet itself is untouched


async def test_quitting_with_an_unsaved_world_book_asks_first(lw_home: Home) -> None:
    app = LoreweaverApp(lw_home, loader=lambda info, settings: FakeEngine())
    async with app.run_test(size=(80, 24)) as pilot:
        editor = await open_editor(app, pilot, "brenna")
        await settle(pilot, editor)
        await editor.run_action("lore_test")  # a person also types elsewhere first
        editor.open_world_book("harrowford")
        await wait_until(
            pilot,
            lambda: isinstance(app.screen, WorldBookScreen) and bool(app.screen.query(LoreEditor)),
        )
        await pilot.pause()
        await pilot.press("ctrl+n", *"ferry")
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: isinstance(app.screen, UnsavedScreen))
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, WorldBookScreen))
        assert app.is_running
    assert not (lw_home.lorebooks / "harrowford.yaml").exists()
    assert isinstance(editor, EditorScreen)
