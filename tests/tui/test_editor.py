"""The character editor, driven through Pilot against a temporary home.

Fast flows use the scripted engine (it counts one token per character, so an exact count is
told apart from the words×1.3 estimate); one flow counts with the real bundled model.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from support import wait_until
from textual.widgets import Checkbox, Input, OptionList, Select, TextArea
from textual.widgets._footer import FooterKey
from tui.chat_support import scripted_app
from tui.editor_support import area, box, line, open_editor, settle, write_aria
from tui.fake_engine import FakeEngine

from app.errors import LoreweaverError
from app.home import Home, sample_characters_dir
from app.settings import SamplingSettings, Settings, save_settings
from app.sheets import library
from app.sheets.lorebook import LoreEntry
from app.tui.app import LoreweaverApp
from app.tui.lore_form import book_data, entry_data, entry_draft, error_key
from app.tui.screens.editor import EditorScreen
from app.tui.screens.unsaved import UnsavedScreen
from app.tui.sheet_form import FIELDS, estimate_tokens, form_data, sheet_texts
from app.tui.widgets.chat_log import ChatMessage
from app.tui.widgets.composer import Composer
from app.tui.widgets.field_box import FieldBox
from app.tui.widgets.lore_editor import LoreEditor


def _no_model(info: object, settings: object) -> FakeEngine:
    raise LoreweaverError("no model in this test")


def _sample(name: str) -> Path:
    folder = sample_characters_dir()
    assert folder is not None
    return folder / f"{name}.yaml"


# -- the form itself (no UI) -------------------------------------------------------------------


def test_every_sheet_field_has_a_box_and_samples_round_trip() -> None:
    from app.sheets.sheet import Sheet

    # the lorebook has its own tab; `card` (what an imported card held beyond the sheet) has no
    # box: the editor carries it over unchanged
    assert {spec.name for spec in FIELDS} - {"other_fields"} | {"character_book", "card"} == set(
        Sheet.model_fields
    )
    folder = sample_characters_dir()
    assert folder is not None
    for path in sorted(folder.glob("*.yaml")):
        sheet = library.load_sheet(path)
        data, errors = form_data(sheet_texts(sheet))
        assert errors == {}
        if sheet.character_book is not None:
            data["character_book"] = sheet.character_book.model_dump()
        assert library.validate_sheet(data) == sheet, path.name


def test_unknown_keys_and_lore_settings_survive_the_form() -> None:
    sheet = library.validate_sheet({"name": "X", "mood_music": "harp", "tags": ["a", "b"]})
    texts = sheet_texts(sheet)
    assert yaml.safe_load(texts["other_fields"]) == {"mood_music": "harp"}
    assert texts["tags"] == "a\nb"
    data, _ = form_data(texts)
    assert data["mood_music"] == "harp"
    entry = LoreEntry(keys=["a"], content="c", priority=3, sticky=2, group="weather")
    draft = entry_draft(entry)
    assert yaml.safe_load(draft.other) == {"priority": 3, "sticky": 2, "group": "weather"}
    back, errors = entry_data(draft)
    assert errors == {} and LoreEntry.model_validate(back) == entry
    book, errors = book_data("scan_depth: [", [draft.with_(depth="deep")], keep_empty=False)
    assert set(errors) == {"settings", "0.depth"}
    assert error_key("character_book.entries[3].probability: must be ≤ 100") == "3.other"


# -- saving ------------------------------------------------------------------------------------


async def test_editing_a_sample_saves_a_copy_atomically(lw_home: Home) -> None:
    sample = _sample("brenna")
    before = sample.read_bytes()
    app = scripted_app(lw_home)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_editor(app, pilot, "brenna")
        assert not screen.dirty
        name = line(screen, "nickname")
        name.focus()
        name.value = ""
        await pilot.press(*"Smithy")
        await settle(pilot, screen)
        assert screen.dirty and screen.problem is None
        assert "unsaved" in str(screen.query_one("#editor-where").render())
        await pilot.press("ctrl+s")
        await pilot.pause()
        saved = lw_home.characters / "brenna.yaml"
        assert saved.is_file() and not screen.dirty
        assert [p.name for p in lw_home.characters.iterdir() if p.suffix == ".tmp"] == []
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, EditorScreen))
        assert not isinstance(app.screen, UnsavedScreen)
        assert app.current_sheet is not None and app.current_sheet.nickname == "Smithy"
    assert sample.read_bytes() == before
    copy, original = library.load_sheet(saved), library.load_sheet(sample)
    assert copy.nickname == "Smithy"
    assert copy.model_dump(exclude={"nickname"}) == original.model_dump(exclude={"nickname"})
    assert library.resolve(lw_home, "brenna").path == saved


async def test_editing_an_imported_card_keeps_what_the_card_held(lw_home: Home) -> None:
    from app.sheets.saving import save_sheet
    from app.sheets.sheet import CardKept

    kept = CardKept(root={"fav": True, "chat": "Brenna - 2024"}, avatar="brenna.png")
    original = library.load_sheet(_sample("brenna")).model_copy(update={"card": kept})
    save_sheet(lw_home, library.resolve(lw_home, "brenna"), original)
    app = scripted_app(lw_home)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_editor(app, pilot, "brenna")
        name = line(screen, "nickname")
        name.focus()
        name.value = ""
        await pilot.press(*"Smithy")
        await settle(pilot, screen)
        await pilot.press("ctrl+s")
        await pilot.pause()
    saved = library.load_sheet(lw_home.characters / "brenna.yaml")
    assert saved.nickname == "Smithy" and saved.card == kept


async def test_validation_is_live_and_names_the_field(lw_home: Home) -> None:
    app = scripted_app(lw_home)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_editor(app, pilot, "brenna")
        line(screen, "name").value = "   "
        await settle(pilot, screen)
        error = box(screen, "name").error
        assert error is not None and error.startswith("name:")
        assert screen.problem == box(screen, "name").error
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not (lw_home.characters / "brenna.yaml").exists()

        line(screen, "name").value = "Brenna"
        relationships = box(screen, "relationships").control
        assert isinstance(relationships, TextArea)
        relationships.load_text("- name: Old Tam\n  trust: 500\n")
        await settle(pilot, screen)
        assert box(screen, "name").error is None
        error = box(screen, "relationships").error
        assert error is not None and error.startswith("relationships[0].trust:")
        relationships.load_text("- name: [unclosed\n")
        await settle(pilot, screen)
        error = box(screen, "relationships").error
        assert error is not None and error.startswith("relationships: invalid YAML at line")

        relationships.load_text("- name: Old Tam\n  trust: 50\n")
        line(screen, "creation_date").value = "1700000000"
        await settle(pilot, screen)
        assert screen.problem is None
        assert str(screen.query_one("#editor-problem").render()) == "✓ valid"
        await pilot.press("ctrl+s")
        await pilot.pause()
    saved = library.load_sheet(lw_home.characters / "brenna.yaml")
    assert [(r.name, r.trust) for r in saved.relationships] == [("Old Tam", 50)]
    assert saved.creation_date == 1_700_000_000


async def test_token_counts_come_from_the_engine_once_loaded(lw_home: Home) -> None:
    app = scripted_app(lw_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.engine is not None)
        screen = await open_editor(app, pilot, "brenna")
        description = box(screen, "description")
        await wait_until(pilot, lambda: description.tokens == f"{len(description.text)} tok")
        area(screen, "description").load_text("Short now.")
        await wait_until(pilot, lambda: description.tokens == "10 tok")
        assert box(screen, "tags").tokens == f"{len(box(screen, 'tags').text)} tok"


async def test_token_counts_are_estimated_without_a_model(lw_home: Home) -> None:
    app = LoreweaverApp(lw_home, loader=_no_model)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_editor(app, pilot, "brenna")
        await settle(pilot, screen)
        description = box(screen, "description")
        assert description.tokens == f"~{estimate_tokens(description.text)} tok"
        area(screen, "description").load_text("one two three four five six seven eight nine ten")
        await settle(pilot, screen)
        assert description.tokens == "~13 tok"


# -- unsaved changes ---------------------------------------------------------------------------


async def test_quit_with_unsaved_changes_asks_and_cancel_keeps_them(lw_home: Home) -> None:
    app = scripted_app(lw_home)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_editor(app, pilot, "brenna")
        line(screen, "role").value = "Retired"
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: isinstance(app.screen, UnsavedScreen))
        await pilot.press("ctrl+q")  # again, over the question: it stays and says why
        await wait_until(
            pilot, lambda: any("close this dialog" in n.message for n in app._notifications)
        )
        assert isinstance(app.screen, UnsavedScreen) and app.return_code is None
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen)
        assert app.return_code is None and screen.dirty
        assert box(screen, "role").text == "Retired"
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: isinstance(app.screen, UnsavedScreen))
        await pilot.click("#discard")
        await wait_until(pilot, lambda: app.return_code is not None)
    assert not (lw_home.characters / "brenna.yaml").exists()


async def test_quit_and_save_writes_before_leaving(lw_home: Home) -> None:
    app = scripted_app(lw_home)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_editor(app, pilot, "brenna")
        line(screen, "role").value = "Retired"
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: isinstance(app.screen, UnsavedScreen))
        await pilot.press("s")
        await wait_until(pilot, lambda: app.return_code is not None)
    assert library.load_sheet(lw_home.characters / "brenna.yaml").role == "Retired"


async def test_leaving_the_editor_asks_and_discard_drops_the_edits(lw_home: Home) -> None:
    app = scripted_app(lw_home)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_editor(app, pilot, "brenna")
        area(screen, "goals").load_text("Retire.")
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, UnsavedScreen))
        await pilot.press("d")
        await wait_until(pilot, lambda: app.screen is app.screen_stack[0])
        assert app.return_code is None
        assert app.current_sheet is not None and "Retire." not in app.current_sheet.goals
    assert not (lw_home.characters / "brenna.yaml").exists()


# -- the lorebook ------------------------------------------------------------------------------


async def test_lorebook_entries_are_edited_added_removed_and_saved(lw_home: Home) -> None:
    write_aria(lw_home)
    app = scripted_app(lw_home)
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await open_editor(app, pilot, "aria")
        lore = screen.query_one(LoreEditor)
        assert [d.name for d in lore.drafts] == ["Dragon", "Weather"]
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert lore.selected == 2
        assert app.focused is screen.query_one("#lore-keys", TextArea)
        await pilot.press(*"ashen pass")
        screen.query_one("#lore-name", Input).value = "Pass"
        screen.query_one("#lore-content", TextArea).load_text("The pass is the only road north.")
        screen.query_one("#lore-secondary", TextArea).load_text("winter")
        screen.query_one("#lore-selective", Checkbox).value = True
        screen.query_one("#lore-logic", Select).value = "not_any"
        screen.query_one("#lore-position", Select).value = "at_depth"
        await settle(pilot, screen)
        assert screen.problem is None
        assert (
            str(screen.query_one("#lore-entries", OptionList).get_option_at_index(2).prompt)
            == "3. Pass"
        )

        lore.select(1)
        await pilot.pause()
        assert screen.query_one("#lore-name", Input).value == "Weather"
        screen.query_one("#lore-depth", Input).value = "deep"
        await settle(pilot, screen)
        depth_box = box(screen, "entry.depth")
        assert depth_box.error is not None and "depth" in depth_box.error
        assert screen.problem is not None and screen.problem.startswith("depth")
        assert "entry 2" in str(screen.query_one("#lore-message").render())
        before = (lw_home.characters / "aria.yaml").read_text(encoding="utf-8")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert (lw_home.characters / "aria.yaml").read_text(encoding="utf-8") == before
        screen.query_one("#lore-depth", Input).value = "3"

        lore.select(0)
        await pilot.pause()
        await pilot.click("#lore-remove")
        await settle(pilot, screen)
        assert [d.name for d in lore.drafts] == ["Weather", "Pass"]
        assert screen.query_one("#lore-name", Input).value == "Weather"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not screen.dirty
    book = library.load_sheet(lw_home.characters / "aria.yaml").character_book
    assert book is not None and book.name == "Aria's notes"
    weather, new = book.entries
    assert (weather.name, weather.depth, weather.insertion_order) == ("Weather", 3, 50)
    assert new.keys == ["ashen pass"] and new.secondary_keys == ["winter"]
    assert (new.selective, new.selective_logic, new.position) == (True, "not_any", "at_depth")
    assert new.content == "The pass is the only road north."


async def test_lore_test_box_shows_what_fires_and_why(lw_home: Home) -> None:
    write_aria(lw_home)
    app = scripted_app(lw_home)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_editor(app, pilot, "aria")
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert app.focused is screen.query_one("#lore-test", Input)
        result = screen.query_one("#lore-test-result")

        def shown() -> list[str]:
            return str(result.render()).splitlines()

        def fired() -> list[str]:
            return [line for line in shown() if line.startswith("✓")]

        await pilot.press(*"A WYRM circles")
        await wait_until(pilot, lambda: any("Dragon" in line for line in fired()))
        # the scripted engine counts a token per character: the count is the model's, not a guess
        dragon = "An old dragon sleeps under the pass; its breath warms the north road."
        budget = 4096 * 25 // 100  # SillyTavern's default: 25 % of the (fake engine's) window
        assert shown()[0] == f"1 of 2 entries fire · {len(dragon)}/{budget} tokens"
        assert len(fired()) == 1 and fired()[0].startswith("✓ 1. Dragon (")
        assert "'wyrm' matched" in fired()[0] and "after char" in fired()[0]
        assert "✗ 2. Weather — no key found in the text: 'storm'" in shown()

        screen.query_one("#lore-test", Input).value = "Only a breeze today."
        await wait_until(pilot, lambda: shown()[:1] == ["No entry fires for this text."])
        assert fired() == [] and len([line for line in shown() if line.startswith("✗")]) == 2
        assert all(line.startswith("· ") for line in shown()[3:])  # the rules that applied

        # an edit to the book is tested at once, without saving
        lore = screen.query_one(LoreEditor)
        lore.select(1)
        await pilot.pause()
        screen.query_one("#lore-keys", TextArea).load_text("storm\nbreeze")
        await wait_until(pilot, lambda: any("Weather" in line for line in fired()))
        assert "'breeze' matched" in fired()[0]
        assert "breeze" not in (lw_home.characters / "aria.yaml").read_text(encoding="utf-8")

        # a disabled entry says so instead of firing
        screen.query_one("#lore-enabled", Checkbox).value = False
        await wait_until(pilot, lambda: fired() == [])
        assert any(line.startswith("✗ 2. Weather") and "disabled" in line for line in shown())


# -- keys, errors, untrusted text --------------------------------------------------------------


async def test_f5_opens_the_editor_and_ctrl_e_still_ends_the_line(lw_home: Home) -> None:
    app = scripted_app(lw_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.current_id is not None)
        say = app.query_one("#say", Composer)
        say.focus()
        await pilot.press(*"hello", "home")
        assert say.cursor_location == (0, 0)
        await pilot.press("ctrl+e")
        await pilot.pause()
        assert say.cursor_location == (0, 5) and len(app.screen_stack) == 1
        keys = {key.key: key for key in app.screen.query(FooterKey)}
        assert "ctrl+e" not in keys
        assert keys["f5"].description == "Edit"
        for key in ("f5", "f1", "ctrl+o"):  # the editor, help and the library: on screen at 80×24
            assert keys[key].region.width > 0 and keys[key].region.right <= 80, key

        await pilot.press("f5")
        await wait_until(pilot, lambda: isinstance(app.screen, EditorScreen))
        editor = app.screen
        # over the editor, F5 and the library key do nothing (they would bury unsaved edits)
        await pilot.press("f5", "ctrl+o")
        await pilot.pause()
        assert app.screen is editor and len(app.screen_stack) == 2


async def test_a_failed_save_is_a_notification_and_keeps_the_edits(lw_home: Home) -> None:
    write_aria(lw_home)
    app = scripted_app(lw_home)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_editor(app, pilot, "aria")
        target = lw_home.characters / "aria.yaml"
        target.unlink()
        target.mkdir()  # the rename onto it must fail
        line(screen, "role").value = "Mapmaker"
        await pilot.press("ctrl+s")
        await wait_until(
            pilot, lambda: any("cannot write" in n.message for n in app._notifications)
        )
        assert screen.dirty and box(screen, "role").text == "Mapmaker"
        assert app.screen is screen and target.is_dir()
        assert sorted(p.name for p in lw_home.characters.iterdir()) == ["aria.yaml"]


async def test_markup_in_a_sheet_is_shown_as_typed(lw_home: Home) -> None:
    (lw_home.characters / "odd.yaml").write_text(
        'name: "[b]Odd[/b] [/nope]"\ndescription: "Loves [red]brackets[/] and [link]."\n'
        "character_book:\n  entries:\n    - keys: ['[x']\n      content: '[/] closes nothing'\n"
        "    - keys: ['[red]']\n      content: Red.\n",
        encoding="utf-8",
    )
    app = scripted_app(lw_home)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_editor(app, pilot, "odd")
        line(screen, "name").value = "[/nope] still odd"
        await settle(pilot, screen)
        await pilot.press("ctrl+t", *"a [x appears")
        result = screen.query_one("#lore-test-result")
        await wait_until(pilot, lambda: str(result.render()).startswith("1 of 2"))
        assert "'[x' matched" in str(result.render())
        assert "no key found in the text: '[red]'" in str(result.render())
        line(screen, "name").value = ""
        await settle(pilot, screen)
        assert str(screen.query_one("#editor-problem").render()).startswith("✗ name:")
        assert app.return_code is None


# -- the command palette -----------------------------------------------------------------------


async def test_editor_actions_are_in_the_command_palette(lw_home: Home) -> None:
    app = scripted_app(lw_home)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_editor(app, pilot, "brenna")
        line(screen, "role").value = "Retired"
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"save character")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_until(pilot, lambda: (lw_home.characters / "brenna.yaml").exists())
        assert not screen.dirty


# -- with the real model -----------------------------------------------------------------------


async def test_real_model_counts_fields_and_chats_with_the_saved_edit(lw_home: Home) -> None:
    # one llama.cpp thread: two spinning OpenMP threads crawl when other work shares the cores
    save_settings(lw_home, Settings(n_threads=1, sampling=SamplingSettings(max_tokens=16, seed=5)))
    app = LoreweaverApp(lw_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.engine is not None)
        engine = app.engine
        assert engine is not None
        screen = await open_editor(app, pilot, "brenna")
        description = box(screen, "description")
        expected = f"{engine.count_tokens(description.text)} tok"
        await wait_until(pilot, lambda: description.tokens == expected)
        assert expected != f"{len(description.text)} tok"
        for field in ("name", "knowledge", "first_message"):
            counted = box(screen, field)
            want = engine.count_tokens(counted.text)

            def shown(box: FieldBox = counted, want: int = want) -> bool:
                return box.tokens == f"{want} tok"

            await wait_until(pilot, shown)

        # the saved edit is what the next reply is built from
        name = box(screen, "name").control
        assert isinstance(name, Input)
        name.value = "Brenna Stonehand"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: not screen.dirty)
        await pilot.press("escape")
        await wait_until(
            pilot,
            lambda: (
                len(app.screen_stack) == 1
                and app.session is not None
                and app.current_sheet is not None
                and app.current_sheet.name == "Brenna Stonehand"
            ),
        )
        assert app.session is not None
        assert "Brenna Stonehand" in app.session.prompt()
        say = app.query_one("#say", Composer)
        say.focus()
        say.text = "What do you sell?"
        before = len(app.session.history)
        await pilot.press("enter")
        session = app.session
        await wait_until(
            pilot, lambda: not app.busy and len(session.history) == before + 2, timeout=60
        )
        reply = session.history[-1]
        assert reply.role == "assistant" and reply.content.strip()
        last = list(app.query(ChatMessage))[-1]
        assert last.shown.speaker == "Brenna Stonehand"
    assert library.load_sheet(lw_home.characters / "brenna.yaml").name == "Brenna Stonehand"
