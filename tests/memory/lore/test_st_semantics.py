"""Lorebooks as SillyTavern means them (issue 16, points 2-5), on files shaped like its own.

`st_world_info.json` is a world-info file as SillyTavern saves it (entries keyed by uid, every
field of its entry template, nulls where it writes them); `card_v3_book.json` a V3 card whose
`character_book` has the shape SillyTavern's `convertWorldInfoToCharacterBook` writes
(`use_regex: true` on every entry, settings under `extensions`). Tokens are counted as words.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from app.memory.lore import LoreResult, LoreTimers, WorldInfoSettings, lore_budget, scan_lore
from app.sheets.cardmap import sheet_from_card
from app.sheets.lorebook import Lorebook
from app.sheets.lorebook_map import lorebook_from_card

FIXTURES = Path(__file__).parents[2] / "sheets" / "fixtures"


def world() -> Lorebook:
    return lorebook_from_card(json.loads((FIXTURES / "st_world_info.json").read_text()))


def card_book() -> Lorebook:
    card = json.loads((FIXTURES / "card_v3_book.json").read_text())
    book = sheet_from_card(card).character_book
    assert book is not None
    return book


def words(text: str) -> int:
    return len(text.split())


def run(books: list[Lorebook], text: str, n_ctx: int = 8192, **settings: Any) -> LoreResult:
    result = scan_lore(
        books,
        [text],
        turn=1,
        seed=0,
        timers=LoreTimers(),
        char="Wren",
        user="Ada",
        count=words,
        n_ctx=n_ctx,
        settings=WorldInfoSettings(**settings),
    )
    assert result is not None
    return result


def fired(result: LoreResult) -> list[str]:
    return sorted(a.title for a in result.activated)


def held(result: LoreResult) -> dict[str, str]:
    return {r.title: r.reason for r in result.rejected}


# -- point 2: the budget ---------------------------------------------------------------------


def test_imported_books_carry_no_budget_and_get_a_quarter_of_the_window() -> None:
    book = world()
    assert book.token_budget is None and book.budget_percent is None
    budget = lore_budget([book], 8192, WorldInfoSettings())
    assert budget.tokens == 2048
    assert budget.rule == "25 % of the 8192-token window (settings world_info.budget)"


def test_budget_share_cap_and_the_books_own_settings() -> None:
    book = world()
    assert lore_budget([book], 8192, WorldInfoSettings(budget=10)).tokens == 819
    capped = lore_budget([book], 8192, WorldInfoSettings(budget_cap=1000))
    assert (capped.tokens, capped.rule.endswith("capped at 1000 (world_info.budget_cap)")) == (
        1000,
        True,
    )
    # the cap only cuts a share that is larger than it
    assert lore_budget([book], 2048, WorldInfoSettings(budget_cap=1000)).tokens == 512
    share = book.model_copy(update={"budget_percent": 50})
    assert lore_budget([share], 8192, WorldInfoSettings(budget=10)).tokens == 4096
    own = book.model_copy(update={"token_budget": 600})
    assert lore_budget([own], 8192, WorldInfoSettings()).tokens == 600
    assert lore_budget([own], 512, WorldInfoSettings()).tokens == 512  # never over the window
    assert lore_budget([book], 3, WorldInfoSettings(budget=1)).tokens == 1  # SillyTavern's `|| 1`


def test_constants_count_against_the_budget_and_keyed_entries_still_fit() -> None:
    # the two constants are 66 words each; 25 % of 560 is 140 tokens
    result = run([world()], "the council cut wood", n_ctx=560)
    assert fired(result) == ["Council", "Magic", "Setting"]
    assert result.tokens == 139 and result.budget == 140
    assert held(result)["Thornwood timber"] == (
        "budget: 139/140 tokens used, this entry needs 6 (key 'wood' matched in message -1)"
    )
    # the old 600-token default would have been cut to a quarter of a 2048 window: 512
    assert run([world()], "the council", n_ctx=2048).budget == 512


def test_ignore_budget_entry_enters_over_the_budget() -> None:
    result = run([world()], "the Relic glows", n_ctx=540)  # 135 tokens: constants take 132
    assert "Relic" in fired(result)
    assert result.tokens == 140
    assert result.notices == [
        "over budget: entries with ignore_budget bring lore to 140/135 tokens"
    ]


# -- point 3: plain keys are text, /…/ keys are regexes ----------------------------------------


def test_plain_keys_with_regex_signs_match_as_text_despite_use_regex() -> None:
    book = world()
    assert all(e.use_regex is False for e in book.entries)  # world info: no flag at all
    embedded = card_book()
    assert all(e.use_regex for e in embedded.entries)  # SillyTavern's embedded books: all true
    result = run([book], "Ask Mr. Smith (the baker) about C++.")
    assert {"Baker", "Cipher"} <= set(fired(result))
    assert "Cipher" not in fired(run([book], "a cat sat on the mat"))
    assert "Storms" in fired(run([book], "STORMS again"))  # a /…/i key is a regex


def test_per_entry_case_sensitivity_is_read_from_extensions() -> None:
    book = card_book()
    lamp = next(e for e in book.entries if e.comment == "Lamp")
    assert lamp.case_sensitive is True and "case_sensitive" not in lamp.extensions
    assert "Lamp" not in fired(run([book], "the LAMP is out"))
    assert "Lamp" in fired(run([book], "the lamp is out"))
    relic = next(e for e in world().entries if e.comment == "Relic")
    assert relic.case_sensitive is True
    assert "Relic" not in fired(run([world()], "the relic"))


# -- point 4: SillyTavern's shipped defaults, named by --explain -----------------------------


def test_whole_words_and_recursion_are_on_for_books_that_do_not_say() -> None:
    book = world()
    assert book.match_whole_words is None and book.recursive_scanning is None
    woodland = run([book], "a walk in the woodland")
    assert "Thornwood timber" not in fired(woodland)
    assert "match whole words on: the settings' default (no book sets match_whole_words)" in (
        woodland.rules
    )
    assert "recursion on: the settings' default (no book sets recursive_scanning)" in (
        woodland.rules
    )
    loose = run([book], "a walk in the woodland", match_whole_words=False)
    assert "Thornwood timber" in fired(loose)
    assert any(r.startswith("match whole words off: the settings' default") for r in loose.rules)
    # recursion: the Council's text names the mill
    assert "Mill cellar" in fired(run([book], "the council"))
    assert "Mill cellar" not in fired(run([book], "the council", recursive=False))


def test_explain_names_the_budget_rule_and_a_books_own_switches_are_not_defaults() -> None:
    book = world().model_copy(update={"recursive_scanning": False, "match_whole_words": True})
    result = run([book], "the council")
    assert result.explain()[1] == (
        "  rule: budget 2048 tokens: 25 % of the 8192-token window (settings world_info.budget)"
    )
    assert not any("recursion" in rule or "whole words" in rule for rule in result.rules)
    assert "Mill cellar" not in fired(result)


# -- point 5: delay until recursion ----------------------------------------------------------


def test_delay_until_recursion_waits_for_a_recursion_level() -> None:
    book = card_book()
    broken = next(e for e in book.entries if e.comment == "Broken oath")
    assert broken.delay_until_recursion is True
    # "oath" in the chat alone: held on the first pass, then SillyTavern's delayed pass fires it
    direct = run([book], "tell me of the oath", recursive=False)
    assert "Broken oath" in fired(direct)
    reached = run([book], "the Keeper")  # the Oath entry's text says "oath"
    assert fired(reached) == ["Broken oath", "Oath", "Wreck"]
    chain = {a.title: a.reason for a in reached.activated}
    assert chain["Broken oath"] == "recursion from 'Oath': key 'oath'"
    first_pass = run([book.model_copy(update={"entries": [broken]})], "the oath")
    assert fired(first_pass) == ["Broken oath"]


def test_group_override_from_extensions_wins_its_group() -> None:
    book = card_book()
    oath = next(e for e in book.entries if e.comment == "Oath")
    assert oath.group_override is True and oath.group == "oaths"
    rival = oath.model_copy(
        update={"comment": "Rival", "group_override": False, "insertion_order": 999}
    )
    result = run([book.model_copy(update={"entries": [oath, rival]})], "Keeper", recursive=False)
    assert fired(result) == ["Oath"]
    assert held(result)["Rival"] == "group 'oaths': lost to 'Oath' (prioritised, order 100)"
