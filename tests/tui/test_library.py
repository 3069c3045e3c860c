"""The library screen driven through Pilot: cards, search as you type, import (and its new-id
retry), duplicate, delete with a confirm, and opening or resuming chats.

UI flows use the scripted engine; the last flow chats with the real bundled model."""

from __future__ import annotations

import json
from pathlib import Path

from support import wait_until
from textual.pilot import Pilot
from textual.widgets import Input, Label, ListView
from tui.chat_support import scripted_app

from app.home import Home, sample_characters_dir
from app.memory.store import ChatStore
from app.session_start import open_chat
from app.settings import SamplingSettings, Settings, save_settings
from app.sheets import library
from app.tui.app import LoreweaverApp
from app.tui.screens.ask import AskDialog
from app.tui.screens.confirm import ConfirmDialog
from app.tui.screens.library import LibraryScreen
from app.tui.widgets.character_card import CharacterCard
from app.tui.widgets.chat_log import ChatMessage
from app.tui.widgets.composer import Composer


async def _library(app: LoreweaverApp, pilot: Pilot[None]) -> LibraryScreen:
    await wait_until(pilot, lambda: app.session is not None)
    await pilot.press("ctrl+o")
    await wait_until(pilot, lambda: isinstance(app.screen, LibraryScreen) and app.screen.loaded)
    assert isinstance(app.screen, LibraryScreen)
    return app.screen


def _ids(screen: LibraryScreen) -> list[str]:
    return [card.summary.id for card in screen.query(CharacterCard)]


def _notes(app: LoreweaverApp) -> list[str]:
    return [note.message for note in app._notifications]


async def _highlight(screen: LibraryScreen, pilot: Pilot[None], character: str) -> None:
    screen.cards.index = _ids(screen).index(character)
    screen.cards.focus()
    await wait_until(pilot, lambda: (h := screen.highlighted()) is not None and h.id == character)


async def _answer(app: LoreweaverApp, pilot: Pilot[None], text: str) -> None:
    await wait_until(pilot, lambda: isinstance(app.screen, AskDialog))
    box = app.screen.query_one("#ask-input", Input)
    box.value = text
    await pilot.press("enter")


def _sample_ids() -> list[str]:
    samples = sample_characters_dir()
    assert samples is not None
    return sorted(p.stem for p in samples.glob("*.yaml"))


async def test_cards_show_every_character_and_search_filters_as_you_type(lw_home: Home) -> None:
    (lw_home.characters / "mira.yaml").write_text(
        "name: Mira\ntags: [healer]\ndescription: '{{char}} mends bones.'\n", encoding="utf-8"
    )
    app = scripted_app(lw_home)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _library(app, pilot)
        assert _ids(screen) == sorted([*_sample_ids(), "mira"])
        mira = next(c for c in screen.query(CharacterCard) if c.summary.id == "mira")
        assert mira.has_class("yours")
        texts = [str(label.render()) for label in mira.query(Label)]
        assert "Mira mends bones." in texts and "#healer" in texts and "yours" in texts
        assert all(
            c.has_class("sample") for c in screen.query(CharacterCard) if c.summary.id != "mira"
        )

        await pilot.press("slash")
        assert screen.focused is screen.query_one("#lib-search")
        await pilot.press(*"smith")
        await wait_until(pilot, lambda: _ids(screen) == ["brenna"])
        await pilot.press(*"zz")
        await wait_until(pilot, lambda: _ids(screen) == [])
        empty = screen.query_one("#lib-empty", Label)
        assert empty.display and "smithzz" in str(empty.render())
        screen.query_one("#lib-search", Input).value = "HEALER"
        await wait_until(pilot, lambda: _ids(screen) == ["mira"])
        await pilot.press("enter")
        assert screen.focused is screen.cards


async def test_markup_in_a_card_is_shown_as_typed(lw_home: Home) -> None:
    (lw_home.characters / "odd.yaml").write_text(
        "name: '[b]Odd[/b]'\ntags: ['[red]']\ndescription: 'Loves [red]brackets[/] and [/nope].'\n",
        encoding="utf-8",
    )
    app = scripted_app(lw_home)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _library(app, pilot)
        odd = next(c for c in screen.query(CharacterCard) if c.summary.id == "odd")
        texts = [str(label.render()) for label in odd.query(Label)]
        assert "Loves [red]brackets[/] and [/nope]." in texts and "#[red]" in texts
        assert any(text.startswith("[b]Odd[/b]") for text in texts)
        screen.query_one("#lib-search", Input).value = "[/nope"
        empty = screen.query_one("#lib-empty", Label)
        await wait_until(pilot, lambda: _ids(screen) == ["odd"])
        screen.query_one("#lib-search", Input).value = "[/nope]]"
        await wait_until(pilot, lambda: empty.display)
        assert "'[/nope]]'" in str(empty.render())


async def test_import_a_card_then_keep_both_under_a_new_id(lw_home: Home, tmp_path: Path) -> None:
    card = tmp_path / "ione.json"
    card.write_text(
        json.dumps(
            {
                "spec": "chara_card_v2",
                "spec_version": "2.0",
                "data": {
                    "name": "Ione",
                    "description": "A ferrywoman.",
                    "first_mes": "Fare?",
                    "tags": ["boat"],
                },
            }
        ),
        encoding="utf-8",
    )
    other = tmp_path / "ione2.json"
    other.write_text(
        json.dumps(
            {
                "spec": "chara_card_v2",
                "spec_version": "2.0",
                "data": {"name": "Ione", "description": "A different Ione.", "first_mes": "Hm?"},
            }
        ),
        encoding="utf-8",
    )
    app = scripted_app(lw_home)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _library(app, pilot)
        await pilot.press("i")
        await _answer(app, pilot, str(card))
        await wait_until(pilot, lambda: "ione" in _ids(screen))
        assert library.load(lw_home, "ione")[1].description == "A ferrywoman."
        highlighted = screen.highlighted()
        assert highlighted is not None and highlighted.id == "ione"
        assert "Imported character 'ione'." in _notes(app)

        await pilot.press("i")
        await _answer(app, pilot, str(other))
        await wait_until(pilot, lambda: isinstance(app.screen, AskDialog))
        assert any("already in your library" in note for note in _notes(app))
        await _answer(app, pilot, "ione_b")
        await wait_until(pilot, lambda: "ione_b" in _ids(screen))
        assert library.load(lw_home, "ione_b")[1].description == "A different Ione."
        assert library.load(lw_home, "ione")[1].description == "A ferrywoman."


async def test_a_bad_import_is_a_notification_and_changes_nothing(
    lw_home: Home, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{ not json", encoding="utf-8")
    app = scripted_app(lw_home)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _library(app, pilot)
        before = _ids(screen)
        for path in (str(bad), str(tmp_path / "missing.png")):
            await pilot.press("i")
            await _answer(app, pilot, path)

            def noted(name: str = Path(path).name) -> bool:
                return any(name in n for n in _notes(app))

            await wait_until(pilot, noted)
        assert app.screen is screen and _ids(screen) == before
        assert sorted(p.name for p in lw_home.characters.iterdir()) == []


async def test_duplicate_a_sample_and_refuse_a_taken_id(lw_home: Home) -> None:
    app = scripted_app(lw_home)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _library(app, pilot)
        await _highlight(screen, pilot, "brenna")
        await pilot.press("c")
        await wait_until(pilot, lambda: isinstance(app.screen, AskDialog))
        assert app.screen.query_one("#ask-input", Input).value == "brenna_copy"
        await pilot.press("enter")
        await wait_until(pilot, lambda: "brenna_copy" in _ids(screen))
        copy = lw_home.characters / "brenna_copy.yaml"
        assert copy.read_bytes() == library.resolve(lw_home, "brenna").path.read_bytes()
        await wait_until(
            pilot, lambda: (h := screen.highlighted()) is not None and h.id == "brenna_copy"
        )
        highlighted = screen.highlighted()
        assert highlighted is not None and not highlighted.sample

        await pilot.press("c")
        await _answer(app, pilot, "hobb")
        await wait_until(pilot, lambda: any("'hobb' already exists" in n for n in _notes(app)))
        assert not (lw_home.characters / "hobb.yaml").exists()


async def test_delete_asks_first_and_never_deletes_samples(lw_home: Home) -> None:
    (lw_home.characters / "mira.yaml").write_text("name: Mira\n", encoding="utf-8")
    app = scripted_app(lw_home)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _library(app, pilot)
        await _highlight(screen, pilot, "hobb")
        await pilot.press("delete")
        assert any("Samples cannot be deleted" in n for n in _notes(app))
        assert app.screen is screen and "hobb" in _ids(screen)

        await _highlight(screen, pilot, "mira")
        await pilot.press("delete")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen)
        assert (lw_home.characters / "mira.yaml").exists()

        await pilot.press("x")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.click("#confirm-yes")
        await wait_until(pilot, lambda: "mira" not in _ids(screen))
        assert not (lw_home.characters / "mira.yaml").exists()


async def test_open_a_character_and_resume_or_start_chats(lw_home: Home) -> None:
    _, sheet = library.load(lw_home, "kestrel")
    with ChatStore.open(lw_home) as store:
        older, _ = open_chat(store, "kestrel", sheet, user="User", resume=None)
        store.add_message(older.id, "user", "Remember the bridge?", parent_id=None)
        newer, _ = open_chat(store, "kestrel", sheet, user="User", resume=None)
    app = scripted_app(lw_home)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _library(app, pilot)
        await _highlight(screen, pilot, "kestrel")
        chats = screen.query_one("#lib-chats", ListView)
        await wait_until(pilot, lambda: len(chats.children) == 3)
        assert [item.name for item in chats.children] == ["new", str(newer.id), str(older.id)]
        title = screen.query_one("#lib-chats-title", Label)
        assert "Chats with Kestrel Vane (2)" in str(title.render())

        await pilot.pause(0.2)  # highlight events still queued would rebuild the list
        chats.focus()
        chats.index = 2
        await wait_until(
            pilot,
            lambda: (
                chats.highlighted_child is not None
                and chats.highlighted_child.name == str(older.id)
            ),
        )
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.session is not None and app.current_id == "kestrel")
        assert not isinstance(app.screen, LibraryScreen)
        assert app.session is not None and app.session.chat is not None
        assert app.session.chat.id == older.id

        screen = await _library(app, pilot)
        highlighted = screen.highlighted()
        assert highlighted is not None and highlighted.id == "kestrel"
        await pilot.press("n")
        await wait_until(
            pilot,
            lambda: (
                app.session is not None
                and app.session.chat is None
                and len(app.session.history) == 1
            ),
        )  # new: stored at its first line
        assert app.store is not None and len(app.store.list_chats("kestrel")) == 2

        screen = await _library(app, pilot)
        await _highlight(screen, pilot, "old_tam")
        await pilot.press("o")
        await wait_until(pilot, lambda: app.session is not None and app.current_id == "old_tam")
        assert app.session is not None and app.session.sheet.name == "Old Tam"


async def test_escape_goes_back_and_palette_runs_library_actions(lw_home: Home) -> None:
    app = scripted_app(lw_home)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _library(app, pilot)
        await pilot.press("ctrl+p")
        await pilot.press(*"Library: Duplicate")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, AskDialog))
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen)
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, LibraryScreen))
        current = app.current_id
        assert current is not None and app.session is not None


async def test_real_model_chat_started_from_the_library_is_listed_and_resumed(
    lw_home: Home,
) -> None:
    # one llama.cpp thread: two spinning OpenMP threads crawl when other work shares the cores
    save_settings(lw_home, Settings(n_threads=1, sampling=SamplingSettings(max_tokens=16, seed=3)))
    app = LoreweaverApp(lw_home)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _library(app, pilot)
        await pilot.press("slash", *"hobb", "enter", "enter")
        await wait_until(pilot, lambda: app.session is not None and app.current_id == "hobb")
        box = app.query_one("#say", Composer)
        box.focus()
        box.text = "Who gave the orders?"
        await pilot.press("enter")
        await wait_until(pilot, lambda: not app.busy and len(app.query(ChatMessage)) >= 3)
        await wait_until(pilot, lambda: not app.busy)
        assert app.session is not None and app.session.chat is not None
        chat_id = app.session.chat.id
        reply = app.session.history[-1]
        assert reply.role == "assistant" and reply.content.strip()

        screen = await _library(app, pilot)
        chats = screen.query_one("#lib-chats", ListView)
        await wait_until(pilot, lambda: len(chats.children) == 2)
        assert chats.children[1].name == str(chat_id)
        listed = " ".join(str(label.render()) for label in chats.children[1].query(Label))
        assert "3 messages" in listed
        await pilot.press("n")  # a new chat: stored at its first line, so not listed yet
        await wait_until(
            pilot,
            lambda: (
                app.session is not None
                and app.session.chat is None
                and len(app.session.history) == 1
            ),
        )

        screen = await _library(app, pilot)
        chats = screen.query_one("#lib-chats", ListView)
        await wait_until(pilot, lambda: len(chats.children) == 2)
        await pilot.click(chats.children[1])
        await wait_until(
            pilot,
            lambda: (
                app.session is not None
                and app.session.chat is not None
                and app.session.chat.id == chat_id
            ),
        )
        assert [m.content for m in app.session.history][-1] == reply.content
