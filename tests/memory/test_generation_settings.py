"""Stop strings (settings and per chat) and the user's own sampler presets, in the domain."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from pydantic import ValidationError

from app.errors import LoreweaverError
from app.home import Home
from app.settings import (
    SAMPLING_PRESETS,
    SamplingSettings,
    Settings,
    load_settings,
    remove_preset,
    save_preset,
    save_settings,
)

if TYPE_CHECKING:
    from app.engine.llamacpp import LlamaEngine


def test_presets_are_kept_in_the_settings_file_beside_the_built_ins(lw_home: Home) -> None:
    mine = SamplingSettings(temperature=0.4, top_k=7)
    settings = save_preset(Settings(stop=["###"]), "  slow   burn ", mine)
    save_settings(lw_home, settings)
    again = load_settings(lw_home)
    assert again.presets == {"slow burn": mine} and again.stop == ["###"]
    assert list(again.all_presets()) == [*SAMPLING_PRESETS, "slow burn"]
    assert remove_preset(again, "slow burn").presets == {}


@pytest.mark.parametrize("name", ["greedy", "", "   ", "x" * 61])
def test_bad_preset_names_are_refused(name: str) -> None:
    with pytest.raises(LoreweaverError):
        save_preset(Settings(), name, SamplingSettings())


def test_built_ins_cannot_be_removed_or_shadowed_in_the_file(lw_home: Home) -> None:
    with pytest.raises(LoreweaverError, match="built-in"):
        remove_preset(Settings(), "greedy")
    with pytest.raises(LoreweaverError, match="no preset named 'mine'"):
        remove_preset(Settings(), "mine")
    lw_home.settings_file.write_text("presets:\n  greedy: {temperature: 2}\n")
    with pytest.raises(LoreweaverError, match="built-in preset"):
        load_settings(lw_home)


def test_stop_strings_must_be_non_empty() -> None:
    with pytest.raises(ValidationError):
        Settings(stop=[""])
    with pytest.raises(ValidationError):
        Settings(stop=["x"] * 51)


def test_a_chat_stop_string_reaches_the_engine_and_ends_the_reply(
    engine: LlamaEngine, lw_home: Home
) -> None:
    from app.engine.base import Sampling
    from app.memory.store import ChatStore
    from app.models import resolve_model
    from app.prompts.formats import choose_format
    from app.session_start import start_session
    from app.sheets import library

    info = resolve_model(lw_home, None)
    _, sheet = library.load(lw_home, "brenna")
    with ChatStore.open(lw_home) as store:
        session = start_session(
            engine,
            info,
            choose_format(None, info),
            sheet,
            "brenna",
            Settings(stop=["###"]),
            store=store,
            summaries=False,
        )
        session.set_stops(["e", "E"])
        assert session.stops[-3:] == ["###", "e", "E"]
        reply = session.send(
            "Tell me about your forge and everything in it.", Sampling(max_tokens=60, seed=4)
        )
        text = reply.finish()
        assert "e" not in text and "E" not in text
        assert reply.stats.stopped_by in ("e", "E")
        assert session.chat is not None
        assert store.get_chat(session.chat.id).meta["stop"] == ["e", "E"]
        with pytest.raises(LoreweaverError, match="stop strings"):
            session.set_stops([""])
