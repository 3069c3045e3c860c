"""The chat screen's behaviour around the defects of issue 13 (item 8) and its features: the status
bar after a context change and a chat switch, the side list after a duplicate, Esc after a refused
action, PageUp/PageDown from the box, the multi-line box, the welcome, relaunch to the last chat."""

from __future__ import annotations

from typing import Any

from support import wait_until
from textual.widgets import Input, ListItem, ListView, Static
from tui.chat_support import blocks, open_chat, say, scripted_app, typed
from tui.fake_engine import FakeEngine

from app.home import Home
from app.models import ModelInfo
from app.settings import Settings
from app.sheets import catalog
from app.tui.app import LoreweaverApp
from app.tui.screens.model_settings import ModelSettingsScreen


class SizedEngine(FakeEngine):
    """A scripted engine whose context is the one the settings ask for."""

    def __init__(self, n_ctx: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._n_ctx = n_ctx

    @property
    def n_ctx(self) -> int:
        return self._n_ctx


def _status(app: LoreweaverApp) -> str:
    return str(app.screen.query_one("#status", Static).render())


async def test_status_bar_follows_a_context_change_and_a_chat_switch(lw_home: Home) -> None:
    def loader(info: ModelInfo, settings: Settings) -> FakeEngine:
        return SizedEngine(settings.n_ctx, pieces=["Aye."])

    app = LoreweaverApp(lw_home, loader=loader)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_chat(app, pilot)
        await say(app, pilot, "Hello.")
        assert "/8192" in _status(app) and "tok/s" in _status(app)
        await pilot.press("f2")
        await wait_until(pilot, lambda: isinstance(app.screen, ModelSettingsScreen))
        app.screen.query_one("#n_ctx", Input).value = "2048"
        await pilot.press("ctrl+s")
        await wait_until(
            pilot,
            lambda: app.engine is not None and app.engine.n_ctx == 2048 and app.session is not None,
        )
        await pilot.pause()
        assert "8192" not in _status(app) and "ctx 2048" in _status(app)
        await say(app, pilot, "Again.")
        assert "/2048" in _status(app)
        app.screen.query_one("#characters", ListView).focus()
        await pilot.press("down", "enter")  # another character
        await wait_until(pilot, lambda: app.current_id != "brenna" and app.session is not None)
        await pilot.pause()
        assert "tok/s" not in _status(app) and "first" not in _status(app)


async def test_a_duplicated_character_shows_in_the_side_list_at_once(lw_home: Home) -> None:
    from app.tui.screens.library import LibraryScreen

    app = scripted_app(lw_home)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.session is not None)
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: isinstance(app.screen, LibraryScreen))
        catalog.duplicate(lw_home, "brenna", "brenna_two")  # as the library's Duplicate does
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, LibraryScreen))
        side = app.screen.query_one("#characters", ListView)
        await wait_until(pilot, lambda: "brenna_two" in [i.name for i in side.query(ListItem)])
        names = [str(item.query_one(Static).render()) for item in side.query(ListItem)]
        assert "Brenna Ironhand" in names and "brenna" not in names  # names, not ids


async def test_escape_after_a_refused_context_view_does_not_stop_the_reply(lw_home: Home) -> None:
    engine = FakeEngine(pieces=["word "] * 300, delay=0.01)
    app = scripted_app(lw_home, engine=engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_chat(app, pilot)
        await pilot.press(*"Talk.", "enter")
        await wait_until(pilot, lambda: bool(app.streaming and app.streaming.text))
        await pilot.press("f4")  # refused: a reply owns the session
        await pilot.press("escape")  # dismisses the refusal…
        await pilot.pause(0.2)
        assert app.busy and app.reply is not None  # …and the reply goes on
        await pilot.press("escape")  # a second Esc stops it
        await wait_until(pilot, lambda: not app.busy)
        assert "cancelled" in _status(app)


async def test_page_keys_scroll_the_chat_from_the_box_and_the_box_grows(lw_home: Home) -> None:
    long = " ".join(["A long answer about swords."] * 40)
    app = scripted_app(lw_home, long, long)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_chat(app, pilot)
        await say(app, pilot, "Tell me.")
        await say(app, pilot, "More.")
        log = app.screen.query_one("#log")
        bottom = log.scroll_y
        assert bottom > 0
        await pilot.press("pageup")
        await wait_until(pilot, lambda: log.scroll_y < bottom)
        await pilot.press("pagedown")
        await wait_until(pilot, lambda: log.scroll_y == bottom)
        assert app.focused is app.screen.query_one("#say")
        box = app.screen.query_one("#say")
        one_line = box.region.height
        await pilot.press(*"first", "ctrl+j", *"second", "ctrl+j", *"third")
        await pilot.pause()
        assert typed(app) == "first\nsecond\nthird"
        assert box.region.height >= one_line + 2  # every line shows
        await pilot.press("enter")
        await wait_until(pilot, lambda: not app.busy and len(blocks(app)) == 7)
        assert blocks(app)[-2].text == "first\nsecond\nthird"


async def test_first_run_welcomes_by_name_and_a_relaunch_returns_to_the_last_chat(
    lw_home: Home,
) -> None:
    app = scripted_app(lw_home, "Aye.")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.session is not None)
        welcome = app.screen.query_one("#welcome", Static)
        # The list and the welcome are read just after the first paint.
        await wait_until(pilot, lambda: welcome.display and "Kestrel Vane" in str(welcome.render()))
        app.open_character("kestrel")
        await wait_until(pilot, lambda: app.current_id == "kestrel" and app.session is not None)
        assert not welcome.display
        await say(app, pilot, "Hello.")
        assert app.session is not None and app.session.chat is not None
        chat_id = app.session.chat.id
    again = scripted_app(lw_home)
    async with again.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: again.session is not None)
        assert again.current_id == "kestrel"
        assert again.session is not None and again.session.chat is not None
        assert again.session.chat.id == chat_id
        assert not again.screen.query_one("#welcome", Static).display
        assert [b.text for b in blocks(again)][-2:] == ["Hello.", "Aye."]


async def test_the_palette_offers_the_chat_keys_by_name(lw_home: Home) -> None:
    app = scripted_app(lw_home, "Aye.")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_chat(app, pilot)
        await say(app, pilot, "Hello.")  # stores the chat (a new one is stored at its first line)
        assert app.session is not None and app.session.chat is not None
        await pilot.press("ctrl+p", *"new chat")
        await pilot.pause(0.3)
        await pilot.press("enter")
        # The new chat shows only the greeting, unsaved until its first line.
        await wait_until(
            pilot,
            lambda: app.session is not None and app.session.chat is None and len(blocks(app)) == 1,
        )
        assert app.focused is app.screen.query_one("#say")
