"""Saved personas: kept in the home's YAML, a default, one locked per character, clear errors."""

from __future__ import annotations

import pytest

from app.errors import LoreweaverError
from app.home import Home
from app.personas import (
    Personas,
    add_persona,
    choose_persona,
    load_personas,
    remove_persona,
    save_personas,
    with_default,
)
from app.settings import Settings


def test_personas_round_trip_and_choose_by_lock_then_default_then_settings(lw_home: Home) -> None:
    settings = Settings(user_name="Plain", user_description="nobody")
    assert choose_persona(lw_home, settings, "brenna") == ("Plain", "nobody")
    personas = add_persona(Personas(), "  Wren  the  courier ", "Fast.")
    personas = add_persona(personas, "Sir Bob", "A knight.", character="brenna")
    personas = with_default(personas, "wren the courier")
    save_personas(lw_home, personas)
    assert load_personas(lw_home) == personas
    assert choose_persona(lw_home, settings, "brenna") == ("Sir Bob", "A knight.")
    assert choose_persona(lw_home, settings, "kestrel") == ("Wren the courier", "Fast.")
    assert choose_persona(lw_home, settings, "brenna", name="WREN THE COURIER")[0] == (
        "Wren the courier"
    )
    with pytest.raises(LoreweaverError, match="no persona named 'x' \\(personas: Wren"):
        choose_persona(lw_home, settings, "brenna", name="x")


def test_a_new_lock_takes_the_character_and_a_same_name_replaces() -> None:
    personas = add_persona(Personas(), "A", character="brenna")
    personas = add_persona(personas, "B", character="brenna")
    personas = add_persona(personas, "b", "second")
    assert [(p.name, p.character, p.description) for p in personas.personas] == [
        ("A", None, ""),
        ("b", None, "second"),
    ]


def test_removing_the_default_clears_it() -> None:
    personas = with_default(add_persona(Personas(), "A"), "A")
    assert remove_persona(personas, "a").default is None
    with pytest.raises(LoreweaverError, match="no persona named 'Z'"):
        remove_persona(personas, "Z")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("personas: 3\n", "personas"),
        ("- a\n", "must hold a mapping"),
        ("{bad", "invalid YAML"),
        ("personas:\n  - name: ''\n", "name"),
        ("surprise: 1\n", "surprise"),
        ("personas: " + "[" * 5000, "nests deeper than"),
        ("\xff", "UTF-8"),
    ],
)
def test_a_damaged_file_is_one_clear_error(lw_home: Home, text: str, words: str) -> None:
    (lw_home.root / "personas.yaml").write_bytes(text.encode("latin-1"))
    with pytest.raises(LoreweaverError) as caught:
        load_personas(lw_home)
    assert words in str(caught.value) and "personas.yaml" in str(caught.value)
    assert "\n" not in str(caught.value)
