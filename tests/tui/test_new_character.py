"""New character from a blank sheet, in the library (a) and from the editor's palette: a person
types a name, fills the blank sheet in, saves, and finds the character in the library."""

from __future__ import annotations

from support import wait_until
from textual.widgets import Input
from tui.chat_support import scripted_app
from tui.editor_support import box, line, open_editor, settle

from app.home import Home
from app.sheets import library
from app.tui.screens.ask import AskDialog
from app.tui.screens.editor import EditorScreen
from app.tui.screens.library import LibraryScreen
from app.tui.widgets.character_card import CharacterCard


async def test_new_character_from_the_library_is_filled_in_saved_and_listed(lw_home: Home) -> None:
    app = scripted_app(lw_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.session is not None)
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: isinstance(app.screen, LibraryScreen) and app.screen.loaded)
        assert isinstance(app.screen, LibraryScreen)
        library_screen: LibraryScreen = app.screen
        await pilot.press("a")
        await wait_until(pilot, lambda: isinstance(app.screen, AskDialog))
        await pilot.press("escape")  # changed their mind: nothing is written
        await wait_until(pilot, lambda: app.screen is library_screen)
        assert list(lw_home.characters.iterdir()) == []

        await pilot.press("a")
        await wait_until(pilot, lambda: isinstance(app.screen, AskDialog))
        await pilot.press(*"Mira Quill", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, EditorScreen))
        editor = app.screen
        assert isinstance(editor, EditorScreen)
        assert box(editor, "name").text == "Mira Quill" and not editor.dirty
        assert editor.problem is None  # the blank sheet is valid as it stands
        description = box(editor, "description").control
        description.focus()
        await pilot.press(*"Sells maps of roads that do not exist yet.")
        await settle(pilot, editor)
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: not editor.dirty)
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is library_screen)

        def highlighted() -> str | None:
            summary = library_screen.highlighted()
            return summary.id if summary is not None else None

        await wait_until(pilot, lambda: highlighted() == "mira_quill")
        assert "mira_quill" in [c.summary.id for c in library_screen.query(CharacterCard)]

        await pilot.press("a")  # the same name again: its id is taken, nothing is overwritten
        await wait_until(pilot, lambda: isinstance(app.screen, AskDialog))
        await pilot.press(*"Mira Quill", "enter")
        await wait_until(
            pilot, lambda: any("already exists" in n.message for n in app._notifications)
        )
        assert not isinstance(app.screen, EditorScreen)
    sheet = library.load_sheet(lw_home.characters / "mira_quill.yaml")
    assert sheet.name == "Mira Quill"
    assert sheet.description == "Sells maps of roads that do not exist yet."


async def test_new_character_from_the_editor_asks_about_unsaved_edits_first(
    lw_home: Home,
) -> None:
    app = scripted_app(lw_home)
    async with app.run_test(size=(120, 40)) as pilot:
        editor = await open_editor(app, pilot, "brenna")
        line(editor, "role").value = "Retired smith"
        await pilot.press("ctrl+p")
        await pilot.press(*"New character")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_until(
            pilot, lambda: app.screen is not editor and not isinstance(app.screen, AskDialog)
        )  # the unsaved question comes first
        await pilot.press("escape")  # cancel: the edits stay
        await wait_until(pilot, lambda: app.screen is editor)
        assert editor.dirty
        line(editor, "role").value = ""
        line(editor, "role").value = library.load(lw_home, "brenna")[1].role
        await settle(pilot, editor)
        assert not editor.dirty
        await editor.run_action("new_character")
        await wait_until(pilot, lambda: isinstance(app.screen, AskDialog))
        app.screen.query_one("#ask-input", Input).value = "Ione"
        await pilot.press("enter")
        await wait_until(
            pilot, lambda: isinstance(app.screen, EditorScreen) and app.screen is not editor
        )
        assert box(app.screen, "name").text == "Ione"
    assert library.load_sheet(lw_home.characters / "ione.yaml").name == "Ione"
    assert not (lw_home.characters / "brenna.yaml").exists()
