"""Lorebook activation, rule by rule, against SillyTavern's documented world-info behaviour.

Every expectation is worked out by hand from the inputs written in the test. Tokens are counted
as whitespace-separated words, so budgets can be checked by counting the words of each content.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import pytest

from app.errors import LoreweaverError
from app.memory.lore import LoreResult, LoreTimers, ScanInput, activate
from app.sheets.lorebook import Lorebook, LoreEntry


def words(text: str) -> int:
    return len(text.split())


def entry(
    name: str, keys: Sequence[str] = (), content: str | None = None, **fields: Any
) -> LoreEntry:
    return LoreEntry(name=name, keys=list(keys), content=content or f"{name} lore.", **fields)


def scan(
    entries: Sequence[LoreEntry],
    messages: Sequence[str],
    *,
    turn: int = 1,
    seed: int = 0,
    state: LoreTimers | None = None,
    budget: int = 1000,
    max_recursion: int = 3,
    char: str = "",
    user: str = "",
    **book: Any,
) -> LoreResult:
    # Rule by rule: recursion and whole words stay off unless a test turns them on (the
    # settings' defaults, SillyTavern's, are tested in test_defaults.py).
    book.setdefault("recursive_scanning", False)
    book.setdefault("match_whole_words", False)
    books = [Lorebook(name="World", entries=list(entries), **book)]
    return activate(
        books,
        ScanInput(messages, turn, seed, state or LoreTimers(), char, user),
        count_tokens=words,
        budget=budget,
        max_recursion=max_recursion,
    )


def fired(result: LoreResult) -> list[str]:
    return [a.title for a in result.activated]


def reasons(result: LoreResult) -> dict[str, str]:
    return {a.title: a.reason for a in result.activated}


def rejected(result: LoreResult) -> dict[str, str]:
    return {r.title: r.reason for r in result.rejected}


# -- plain keys and case ---------------------------------------------------------------------


def test_plain_key_is_case_insensitive_by_default() -> None:
    result = scan([entry("Dragon", ["dragon"])], ["the Dragon sleeps"])
    assert reasons(result) == {"Dragon": "key 'dragon' matched in message -1"}


def test_any_primary_key_is_enough() -> None:
    result = scan([entry("Dragon", ["wyrm", "drake", "dragon"])], ["a drake flies"])
    assert reasons(result) == {"Dragon": "key 'drake' matched in message -1"}


def test_case_sensitive_entry_needs_the_exact_case() -> None:
    lower = entry("Dragon", ["dragon"], case_sensitive=True)
    upper = entry("Rose", ["Rose"], case_sensitive=True)
    result = scan([lower, upper], ["the Dragon sleeps under a rose"])
    assert fired(result) == []
    assert result.rejected == []  # no key matched: nothing to explain
    assert fired(scan([lower, upper], ["the dragon and Rose"])) == ["Dragon", "Rose"]


def test_book_case_sensitivity_is_the_default_an_entry_can_override() -> None:
    plain = entry("Dragon", ["dragon"])
    loose = entry("Wyrm", ["wyrm"], case_sensitive=False)
    result = scan([plain, loose], ["The Dragon and the Wyrm"], case_sensitive=True)
    assert fired(result) == ["Wyrm"]
    assert fired(scan([plain, loose], ["the dragon"], case_sensitive=True)) == ["Dragon"]


# -- whole words -------------------------------------------------------------------------------


def test_whole_words_keeps_cat_out_of_concatenate() -> None:
    cat = entry("Cat", ["cat"], match_whole_words=True)
    assert fired(scan([cat], ["concatenate the strings"])) == []
    assert fired(scan([cat], ["the cat, asleep"])) == ["Cat"]
    assert fired(scan([cat], ["Cat."])) == ["Cat"]


def test_without_whole_words_a_key_matches_inside_a_word() -> None:
    cat = entry("Cat", ["cat"])
    assert reasons(scan([cat], ["concatenate the strings"])) == {
        "Cat": "key 'cat' matched in message -1"
    }


def test_book_whole_words_default_and_entry_override() -> None:
    book_default = entry("Cat", ["cat"])
    opt_out = entry("Dog", ["dog"], match_whole_words=False)
    result = scan([book_default, opt_out], ["concatenate hotdogs"], match_whole_words=True)
    assert fired(result) == ["Dog"]


def test_multi_word_key_stays_a_substring_under_whole_words() -> None:
    black_cat = entry("Black cat", ["black cat"], match_whole_words=True)
    assert fired(scan([black_cat], ["a black cat purrs"])) == ["Black cat"]
    assert fired(scan([black_cat], ["two black cats purr"])) == ["Black cat"]
    assert fired(scan([black_cat], ["a black dog"])) == []


def test_a_key_never_straddles_two_messages() -> None:
    black_cat = entry("Black cat", ["black cat"])
    assert fired(scan([black_cat], ["it was black", "cat food"])) == []


# -- regex keys --------------------------------------------------------------------------------


def test_slashed_regex_key_with_flags() -> None:
    insensitive = entry("Drake", ["/dra(g|k)on/i"])
    sensitive = entry("Exact", ["/drakon/"])
    result = scan([insensitive, sensitive], ["the DRAKON lands"])
    assert reasons(result) == {"Drake": "key '/dra(g|k)on/i' matched in message -1"}


def test_regex_key_ignores_whole_words_and_case_settings() -> None:
    key = entry("Stem", ["/drag/"], match_whole_words=True, case_sensitive=False)
    assert fired(scan([key], ["a dragon"])) == ["Stem"]
    assert fired(scan([key], ["a DRAGON"])) == []  # the regex has no `i` flag


def test_use_regex_does_not_make_plain_keys_regexes() -> None:
    # SillyTavern writes use_regex: true on every embedded entry, and reads a key as a regex
    # only when it is written /…/flags.
    cpp = entry("C++", ["C++"], use_regex=True)
    baker = entry("Baker", ["Mr. Smith (the baker)"], use_regex=True)
    assert fired(scan([cpp, baker], ["a cat"])) == []
    assert fired(scan([cpp, baker], ["I write C++ for Mr. Smith (the baker)."])) == [
        "C++",
        "Baker",
    ]
    slashed = entry("Slashed", [r"/dra[gk]on\b/i"], use_regex=False)
    assert fired(scan([slashed], ["a DRAKON"])) == ["Slashed"]


def test_plain_keys_with_regex_signs_obey_whole_words() -> None:
    cpp = entry("C++", ["C++"], use_regex=True, match_whole_words=True)
    assert fired(scan([cpp], ["C++ rocks"])) == ["C++"]
    assert fired(scan([cpp], ["xC++ rocks"])) == []


def test_invalid_regex_key_is_a_rejection_naming_the_entry() -> None:
    bad = entry("Broken", ["/dra(gon/"])
    good = entry("Good", ["dragon"])
    result = scan([bad, good], ["a dragon"])
    assert fired(result) == ["Good"]
    reason = rejected(result)["Broken"]
    assert reason.startswith("key '/dra(gon/': invalid regex: missing ")
    assert [line for line in result.explain() if "Broken" in line] == [
        f"  - Broken [World]: {reason}"
    ]


def test_slashed_key_that_does_not_compile_is_reported_not_read_as_text() -> None:
    broken = entry("Glyph", ["dragon", "/([a-/"])
    result = scan([broken], ["a dragon: /([a-/ !"])
    assert fired(result) == []
    assert rejected(result) == {"Glyph": "key '/([a-/': invalid regex: missing ]: [a-"}


@pytest.mark.parametrize(
    "key",
    ["/(a|a)+$/", "/(a|aa)+$/", "/((a+))+$/", "/(a+){30}$/", "/a*a*a*a*a*a*a*a*b$/", "/(a+)+$/"],
)
def test_backtracking_shapes_run_in_linear_time_and_answer_correctly(key: str) -> None:
    slow = entry("Slow", [key])
    assert fired(scan([slow], ["a" * 40 + "!"])) == []
    assert fired(scan([slow], ["a" * 40 + ("b" if "b" in key else "")])) == ["Slow"]


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("/a{4294967295}/", "repeat count 4294967295 is over 1000"),
        ("/(?=a)a/", "lookahead (?=…) is not supported"),
        ("/(?<!x)a/", "negative lookbehind (?<!…) is not supported"),
        (r"/(a)\1/", "backreference or octal escape \\1 is not supported"),
        (r"/(?<n>a)\k<n>/", "backreference \\k<…> is not supported"),
        ("/a/gig", "regex flag 'g' is given twice"),
        ("/" + "(" * 600 + "a" + ")" * 600 + "/", "longer than 1000"),
        ("/(a|b|c| ){999}x/i", "regex too large: 2003 steps (at most 2000)"),
    ],
)
def test_unsupported_regex_keys_say_why(key: str, why: str) -> None:
    reason = rejected(scan([entry("Odd", [key])], ["a" * 10]))["Odd"]
    assert why in reason


@pytest.mark.parametrize(
    ("key", "text"),
    [
        ("/(?<beast>drag)on/", "a dragon"),
        (r"/\u0064ragon/", "a dragon"),
        (r"/\u{1F409}/u", "a \U0001f409 here"),
        (r"/\uD83D\uDC09/", "a \U0001f409 here"),
        (r"/\p{Lu}ragon/u", "a Dragon"),
        (r"/a\sdragon/", "a\u00a0dragon"),
        ("/x[^]y$/m", "x\ny\nz"),
        ("/DRAGON/i", "a dragon"),
        ("/a.b/s", "a\nb"),
        (r"/\qed/", "a qed"),
    ],
)
def test_javascript_regex_syntax_is_mapped(key: str, text: str) -> None:
    assert fired(scan([entry("Js", [key])], [text])) == ["Js"]


def test_regex_work_per_turn_is_bounded_and_the_scan_goes_on() -> None:
    big = [entry(f"Big {i}", [f"/[ab]{{900}}c{i}/"]) for i in range(60)]
    result = scan([*big, entry("Plain", ["abab"])], ["ab" * 20_000])
    assert fired(result) == ["Plain"]
    spent = [name for name, why in rejected(result).items() if "work limit is used up" in why]
    assert spent and "Big 0" not in spent  # the first keys ran; the rest were skipped, saying so


def test_sticky_flag_anchors_at_the_start_of_the_scan() -> None:
    assert fired(scan([entry("Y", ["/\\x01dragon/y"])], ["dragon here"])) == ["Y"]
    assert fired(scan([entry("Y", ["/dragon/y"])], ["a dragon"])) == []


# -- secondary keys ----------------------------------------------------------------------------


def _selective(logic: str) -> LoreEntry:
    return entry(
        "Hoard", ["dragon"], selective=True, secondary_keys=["gold", "sword"], selective_logic=logic
    )


@pytest.mark.parametrize(
    ("logic", "message", "expected"),
    [
        ("and_any", "the dragon counts gold", None),
        (
            "and_any",
            "the dragon sleeps",
            "key 'dragon' matched, but secondary keys AND ANY: none of 'gold', 'sword' present",
        ),
        ("and_all", "the dragon guards gold and a sword", None),
        (
            "and_all",
            "the dragon counts gold",
            "key 'dragon' matched, but secondary keys AND ALL: 'sword' missing",
        ),
        ("not_any", "the dragon sleeps", None),
        (
            "not_any",
            "the dragon counts gold",
            "key 'dragon' matched, but secondary keys NOT ANY: 'gold' present",
        ),
        ("not_all", "the dragon counts gold", None),
        (
            "not_all",
            "the dragon guards gold and a sword",
            "key 'dragon' matched, but secondary keys NOT ALL: all of 'gold', 'sword' present",
        ),
    ],
)
def test_secondary_key_logic(logic: str, message: str, expected: str | None) -> None:
    result = scan([_selective(logic)], [message])
    if expected is None:
        assert reasons(result) == {"Hoard": "key 'dragon' matched in message -1"}
    else:
        assert fired(result) == []
        assert rejected(result) == {"Hoard": expected}


def test_secondary_keys_need_a_primary_match() -> None:
    assert scan([_selective("not_any")], ["gold and a sword"]).rejected == []
    assert fired(scan([_selective("not_any")], ["gold and a sword"])) == []


def test_secondary_keys_are_ignored_unless_selective() -> None:
    plain = entry(
        "Hoard", ["dragon"], selective=False, secondary_keys=["gold"], selective_logic="and_all"
    )
    assert fired(scan([plain], ["the dragon sleeps"])) == ["Hoard"]


# -- {{char}} / {{user}} -----------------------------------------------------------------------


def test_char_macro_in_keys_and_content() -> None:
    own = entry("Self", ["{{char}}"], content="{{char}} owes {{user}} a sword.")
    result = scan([own], ["brenna waves"], char="Brenna", user="Ash")
    assert reasons(result) == {"Self": "key 'Brenna' matched in message -1"}
    assert result.activated[0].text == "Brenna owes Ash a sword."
    assert fired(scan([own], ["ash waves"], char="Brenna", user="Ash")) == []


def test_user_macro_in_secondary_keys() -> None:
    greeting = entry("Greeting", ["hello"], selective=True, secondary_keys=["{{user}}"])
    assert fired(scan([greeting], ["hello Ash"], user="Ash")) == ["Greeting"]
    assert fired(scan([greeting], ["hello Brenna"], user="Ash")) == []


# -- constant and disabled ---------------------------------------------------------------------


def test_constant_entry_fires_without_keys() -> None:
    result = scan([entry("Always", constant=True)], ["nothing related"])
    assert reasons(result) == {"Always": "constant"}
    assert result.activated[0].constant


def test_disabled_entries_never_fire() -> None:
    off_key = entry("Off", ["dragon"], enabled=False)
    off_const = entry("Off constant", constant=True, enabled=False)
    unmatched = entry("Unmatched", ["wyrm"], enabled=False)
    result = scan([off_key, off_const, unmatched], ["a dragon"])
    assert fired(result) == []
    assert rejected(result) == {"Off": "disabled", "Off constant": "disabled"}


# -- scan depth --------------------------------------------------------------------------------

HISTORY = ["the dragon wakes", "hello there", "goodbye"]  # oldest -> newest


def test_book_scan_depth_counts_the_newest_messages() -> None:
    dragon = entry("Dragon", ["dragon"])
    assert fired(scan([dragon], HISTORY, scan_depth=2)) == []
    assert reasons(scan([dragon], HISTORY, scan_depth=3)) == {
        "Dragon": "key 'dragon' matched in message -3"
    }


def test_entry_scan_depth_one_versus_two() -> None:
    messages = ["the dragon wakes", "nothing here"]
    assert fired(scan([entry("Dragon", ["dragon"], scan_depth=1)], messages)) == []
    assert reasons(scan([entry("Dragon", ["dragon"], scan_depth=2)], messages)) == {
        "Dragon": "key 'dragon' matched in message -2"
    }


def test_entry_scan_depth_overrides_the_book() -> None:
    messages = ["the dragon wakes", "nothing here"]
    assert fired(scan([entry("Dragon", ["dragon"])], messages, scan_depth=1)) == []
    deeper = entry("Dragon", ["dragon"], scan_depth=2)
    assert fired(scan([deeper], messages, scan_depth=1)) == ["Dragon"]
    shallower = entry("Dragon", ["dragon"], scan_depth=1)
    assert fired(scan([shallower], messages, scan_depth=2)) == []


def test_scan_depth_zero_scans_no_message() -> None:
    assert fired(scan([entry("Dragon", ["dragon"])], ["dragon"], scan_depth=0)) == []


def test_scan_depth_decorator_overrides_entry_and_book() -> None:
    deep = entry("Dragon", ["dragon"], content="@@scan_depth 3\nDragon lore.", scan_depth=1)
    assert reasons(scan([deep], HISTORY, scan_depth=1)) == {
        "Dragon": "key 'dragon' matched in message -3"
    }


# -- insertion order and position ---------------------------------------------------------------


def test_activated_entries_grouped_by_position_then_insertion_order() -> None:
    entries = [
        entry("A", ["x"], insertion_order=50),
        entry("B", ["x"], insertion_order=10),
        entry("C", ["x"], insertion_order=90, position="before_char"),
        entry("D", ["x"], insertion_order=5, position="at_depth", depth=2, role="user"),
        entry("E", ["x"], insertion_order=1, position="bottom_of_notes"),
    ]
    result = scan(entries, ["x"])
    assert fired(result) == ["C", "B", "A", "E", "D"]
    placed = {a.title: (a.position, a.depth, a.role) for a in result.activated}
    assert placed["D"] == ("at_depth", 2, "user")
    assert placed["C"][0] == "before_char"


def test_placement_decorators() -> None:
    deep = entry("Deep", ["x"], content="@@depth 0\n@@role assistant\nSays hi.")
    early = entry("Early", ["x"], content="@@position before_desc\nComes first.")
    result = scan([deep, early], ["x"])
    placed = {a.title: (a.position, a.depth, a.role, a.text) for a in result.activated}
    assert placed == {
        "Deep": ("at_depth", 0, "assistant", "Says hi."),
        "Early": ("before_char", 4, "system", "Comes first."),
    }


def test_activation_decorators() -> None:
    forced = entry("Forced", content="@@activate\nAlways here.")
    blocked = entry("Blocked", ["x"], content="@@dont_activate\nNever here.")
    late = entry("Late", ["x"], content="@@activate_only_after 3\nLate lore.")
    every = entry("Every", ["x"], content="@@activate_only_every 2\nEven lore.")
    turn2 = scan([forced, blocked, late, every], ["x"], turn=2)
    assert reasons(turn2) == {"Forced": "@@activate", "Every": "key 'x' matched in message -1"}
    assert rejected(turn2) == {
        "Blocked": "@@dont_activate",
        "Late": "@@activate_only_after 3: turn 2",
    }
    turn3 = scan([forced, blocked, late, every], ["x"], turn=3)
    assert fired(turn3) == ["Forced", "Late"]
    assert rejected(turn3)["Every"] == "@@activate_only_every 2: turn 3"


def test_v3_additional_and_exclude_keys() -> None:
    both = entry("Both", ["dragon"], content="@@additional_keys gold, gems\nHoard lore.")
    never = entry("Never", ["dragon"], content="@@exclude_keys peace\nWar lore.")
    assert fired(scan([both, never], ["the dragon and gems"])) == ["Both", "Never"]
    result = scan([both, never], ["the dragon keeps the peace"])
    assert rejected(result) == {
        "Both": "key 'dragon' matched, but @@additional_keys: none of 'gold', 'gems' present",
        "Never": "key 'dragon' matched, but @@exclude_keys: 'peace' present",
    }


def test_entries_of_several_books_sort_together_by_order() -> None:
    # SillyTavern's default "sorted evenly": one ordering across books; same-named books
    # keep apart in the result.
    first = Lorebook(
        name="Lore",
        entries=[entry("a10", ["x"], insertion_order=10), entry("a30", ["x"], insertion_order=30)],
    )
    second = Lorebook(name="Lore", entries=[entry("b20", ["x"], insertion_order=20)])
    result = activate([first, second], ScanInput(["x"], 1, 0), count_tokens=words, budget=100)
    assert [(a.title, a.book) for a in result.activated] == [
        ("a10", "Lore"),
        ("b20", "Lore (2)"),
        ("a30", "Lore"),
    ]


# -- token budget ------------------------------------------------------------------------------


def _budget_entries() -> list[LoreEntry]:
    return [
        entry("A", ["x"], content="one two three four", insertion_order=30),
        entry("B", ["x"], content="one two three", insertion_order=20),
        entry("C", ["x"], content="one two", insertion_order=10),
    ]


def test_budget_cut_reason_and_explain() -> None:
    # Higher order goes first: A (4) -> 4, B (3) -> 7, C (2) would make 9 > 8.
    result = scan(_budget_entries(), ["x"], budget=8)
    assert fired(result) == ["B", "A"]
    assert result.tokens == 7
    assert result.explain() == [
        "lore: 2 entries, 7/8 tokens",
        "  + B [World] (3 tokens, after_char): key 'x' matched in message -1",
        "  + A [World] (4 tokens, after_char): key 'x' matched in message -1",
        "  - C [World]: budget: 7/8 tokens used, this entry needs 2 "
        "(key 'x' matched in message -1)",
    ]


def test_entry_that_exactly_fills_the_budget_fits() -> None:
    result = scan(_budget_entries(), ["x"], budget=9)
    assert fired(result) == ["C", "B", "A"]
    assert (result.tokens, result.rejected) == (9, [])


def test_once_the_budget_overflows_later_entries_are_cut_too() -> None:
    # A (4) -> 4; B (5) would make 9 > 8: overflow. C (1) would fit, but the scan has stopped.
    entries = [
        entry("A", ["x"], content="one two three four", insertion_order=30),
        entry("B", ["x"], content="one two three four five", insertion_order=20),
        entry("C", ["x"], content="one", insertion_order=10),
    ]
    result = scan(entries, ["x"], budget=8)
    assert fired(result) == ["A"]
    assert rejected(result) == {
        "B": "budget: 4/8 tokens used, this entry needs 5 (key 'x' matched in message -1)",
        "C": "budget: 4/8 tokens used, this entry needs 1 (key 'x' matched in message -1)",
    }


def test_constant_entries_take_the_budget_first() -> None:
    keyed = entry("Keyed", ["x"], content="one two three", insertion_order=100)
    fixed = entry("Fixed", constant=True, content="one two three", insertion_order=1)
    result = scan([keyed, fixed], ["x"], budget=4)
    assert fired(result) == ["Fixed"]
    assert rejected(result) == {
        "Keyed": "budget: 3/4 tokens used, this entry needs 3 (key 'x' matched in message -1)"
    }
    assert result.notices == []


def test_constants_count_against_the_budget_and_are_cut_like_others() -> None:
    # SillyTavern: constants come first, but the budget check is the same for every entry.
    first = entry("First", constant=True, content="a b c d e")
    second = entry("Second", constant=True, content="f g h i j")
    keyed = entry("Keyed", ["x"], content="k")
    result = scan([first, second, keyed], ["x"], budget=8)
    assert fired(result) == ["First"]
    assert result.tokens == 5
    assert rejected(result) == {
        "Second": "budget: 5/8 tokens used, this entry needs 5 (constant)",
        "Keyed": "budget: 5/8 tokens used, this entry needs 1 (key 'x' matched in message -1)",
    }
    assert result.notices == []


def test_ignore_budget_enters_when_the_budget_is_spent() -> None:
    big = entry("Big", ["x"], content="a b c d e f g h", insertion_order=200)
    free = entry("Free", ["x"], content="k l m", ignore_budget=True)
    result = scan([big, free], ["x"], budget=8)
    assert fired(result) == ["Free", "Big"]  # prompt order: ascending insertion_order
    assert result.tokens == 11
    assert result.notices == ["over budget: entries with ignore_budget bring lore to 11/8 tokens"]


# -- recursion ---------------------------------------------------------------------------------


def _chain() -> list[LoreEntry]:
    return [
        entry("Bessie", ["bessie"], content="Bessie is friends with Rufus."),
        entry("Rufus", ["rufus"], content="Rufus guards the tower."),
        entry("Tower", ["tower"], content="The tower hides a vault."),
        entry("Vault", ["vault"], content="The vault is sealed."),
    ]


def test_recursion_fires_up_to_the_limit_and_reports_the_next_level() -> None:
    result = scan(_chain(), ["I see Bessie"], max_recursion=2, recursive_scanning=True)
    assert [(a.title, a.level) for a in result.activated] == [
        ("Bessie", 0),
        ("Rufus", 1),
        ("Tower", 2),
    ]
    assert reasons(result) == {
        "Bessie": "key 'bessie' matched in message -1",
        "Rufus": "recursion from 'Bessie': key 'rufus'",
        "Tower": "recursion from 'Rufus': key 'tower'",
    }
    assert rejected(result) == {
        "Vault": "recursion limit: recursion from 'Tower': key 'vault' would need level 3 > 2"
    }


def test_a_higher_recursion_limit_reaches_further() -> None:
    result = scan(_chain(), ["I see Bessie"], max_recursion=3, recursive_scanning=True)
    assert [(a.title, a.level) for a in result.activated][-1] == ("Vault", 3)
    assert result.rejected == []


def test_recursion_limit_zero_and_recursion_off() -> None:
    limited = scan(_chain(), ["I see Bessie"], max_recursion=0, recursive_scanning=True)
    assert fired(limited) == ["Bessie"]
    assert rejected(limited) == {
        "Rufus": "recursion limit: recursion from 'Bessie': key 'rufus' would need level 1 > 0"
    }
    off = scan(_chain(), ["I see Bessie"], recursive_scanning=False)
    assert (fired(off), off.rejected) == (["Bessie"], [])


def test_prevent_recursion_keeps_an_entry_from_triggering_others() -> None:
    chain = _chain()
    chain[0] = chain[0].model_copy(update={"prevent_recursion": True})
    result = scan(chain, ["I see Bessie"], recursive_scanning=True)
    assert (fired(result), result.rejected) == (["Bessie"], [])


def test_exclude_recursion_blocks_activation_by_other_entries_only() -> None:
    chain = _chain()
    chain[1] = chain[1].model_copy(update={"exclude_recursion": True})
    result = scan(chain, ["I see Bessie"], recursive_scanning=True)
    assert fired(result) == ["Bessie"]
    assert rejected(result) == {
        "Rufus": "non-recursable (exclude_recursion): recursion from 'Bessie': key 'rufus'"
    }
    direct = scan(chain, ["Rufus barks"], recursive_scanning=True)
    assert reasons(direct)["Rufus"] == "key 'rufus' matched in message -1"
    assert reasons(direct)["Tower"] == "recursion from 'Rufus': key 'tower'"


# -- probability -------------------------------------------------------------------------------


def _chance(p: int) -> LoreEntry:
    return entry("Omen", ["omen"], probability=p)


def test_probability_zero_and_hundred() -> None:
    for seed in range(20):
        assert fired(scan([_chance(100)], ["an omen"], seed=seed)) == ["Omen"]
        never = scan([_chance(0)], ["an omen"], seed=seed)
        assert fired(never) == []
        assert re.fullmatch(
            r"probability 0 % \(rolled (100|[1-9][0-9]?)\)", rejected(never)["Omen"]
        )


def test_probability_is_deterministic_per_seed_and_near_p() -> None:
    outcomes = [bool(scan([_chance(30)], ["an omen"], seed=seed).activated) for seed in range(1000)]
    replay = [bool(scan([_chance(30)], ["an omen"], seed=seed).activated) for seed in range(50)]
    assert replay == outcomes[:50]
    # 1000 draws of p = 0.3: standard deviation 0.0145, so 0.24..0.36 is beyond 4 sigma.
    assert 0.24 <= sum(outcomes) / 1000 <= 0.36


def test_failed_roll_names_probability_and_a_roll_above_it() -> None:
    seed = next(s for s in range(100) if not scan([_chance(30)], ["an omen"], seed=s).activated)
    reason = rejected(scan([_chance(30)], ["an omen"], seed=seed))["Omen"]
    roll = re.fullmatch(r"probability 30 % \(rolled (\d+)\)", reason)
    assert roll is not None and 30 < int(roll.group(1)) <= 100


def test_probability_rolls_differ_between_turns() -> None:
    turns = [bool(scan([_chance(50)], ["an omen"], turn=t, seed=7).activated) for t in range(1, 41)]
    assert 0 < sum(turns) < 40


# -- inclusion groups --------------------------------------------------------------------------


def test_inclusion_group_keeps_one_winner_per_seed() -> None:
    members = [entry(n, ["rain"], group="weather") for n in ("Drizzle", "Storm", "Mist")]
    winners = set()
    for seed in range(60):
        result = scan(members, ["rain again"], seed=seed)
        assert len(result.activated) == 1
        winner = result.activated[0].title
        winners.add(winner)
        losers = rejected(result)
        assert sorted(losers) == sorted({"Drizzle", "Storm", "Mist"} - {winner})
        assert all(
            r.startswith(f"group 'weather': lost to '{winner}' (weight 100 of 300")
            for r in losers.values()
        )
    assert winners == {"Drizzle", "Storm", "Mist"}


def test_group_weight_zero_never_wins() -> None:
    members = [
        entry("Never", ["rain"], group="weather", group_weight=0),
        entry("Always", ["rain"], group="weather", group_weight=100),
    ]
    for seed in range(30):
        assert fired(scan(members, ["rain"], seed=seed)) == ["Always"]


def test_prioritised_group_member_with_highest_order_wins() -> None:
    members = [
        entry("Plain", ["rain"], group="weather", insertion_order=99),
        entry(
            "Low",
            ["rain"],
            group="weather",
            insertion_order=20,
            extensions={"group_override": True},
        ),
        entry(
            "High",
            ["rain"],
            group="weather",
            insertion_order=30,
            extensions={"group_override": True},
        ),
    ]
    result = scan(members, ["rain"])
    assert fired(result) == ["High"]
    assert rejected(result) == {
        "Plain": "group 'weather': lost to 'High' (prioritised, order 30)",
        "Low": "group 'weather': lost to 'High' (prioritised, order 30)",
    }


def test_group_scoring_prefers_the_entry_with_more_keys_matched() -> None:
    # The documented example: both match 'song' and 'sing'; only one matches 'ghosts' too.
    scored = {"use_group_scoring": True}
    members = [
        entry("Cat song", ["song", "sing", "black cat"], group="songs", extensions=scored),
        entry("Ghost song", ["song", "sing", "ghosts"], group="songs", extensions=scored),
    ]
    for seed in range(10):
        result = scan(members, ["sing me a song about ghosts"], seed=seed)
        assert fired(result) == ["Ghost song"]
        assert rejected(result) == {
            "Cat song": "group 'songs': fewer keys matched (2) than 'Ghost song' (3)"
        }
    tied = {fired(scan(members, ["sing me a song"], seed=s))[0] for s in range(30)}
    assert tied == {"Cat song", "Ghost song"}


def test_ungrouped_entries_are_untouched_by_groups() -> None:
    members = [
        entry("Drizzle", ["rain"], group="weather"),
        entry("Storm", ["rain"], group="weather"),
        entry("Umbrella", ["rain"]),
    ]
    result = scan(members, ["rain"])
    assert "Umbrella" in fired(result)
    assert len(result.activated) == 2


def test_a_group_winner_that_fails_its_roll_does_not_close_the_group() -> None:
    # Level 0: 'Gust' wins the group alone but rolls against 0 %; level 1: 'Squall' is found in
    # the trigger's text and, nothing in the group having fired, may fire.
    members = [
        entry("Trigger", ["start"], content="The storm begins."),
        entry("Gust", ["start"], group="weather", probability=0),
        entry("Squall", ["storm"], group="weather"),
    ]
    result = scan(members, ["start"], recursive_scanning=True)
    assert reasons(result) == {
        "Trigger": "key 'start' matched in message -1",
        "Squall": "recursion from 'Trigger': key 'storm'",
    }
    assert rejected(result)["Gust"].startswith("probability 0 % (rolled ")


def test_a_group_closed_on_one_level_stays_closed_on_the_next() -> None:
    members = [
        entry("Trigger", ["start"], content="The storm begins."),
        entry("Gust", ["start"], group="weather"),
        entry("Squall", ["storm"], group="weather"),
    ]
    result = scan(members, ["start"], recursive_scanning=True)
    assert fired(result) == ["Trigger", "Gust"]
    assert rejected(result) == {"Squall": "group 'weather': 'Gust' already fired"}


# -- sticky, cooldown, delay over turns ---------------------------------------------------------


def _turns(item: LoreEntry, plan: list[tuple[int, str]]) -> list[tuple[int, str, str]]:
    """Run the turns in order, carrying the timers; (turn, 'fired'/'rejected'/'-', reason)."""
    timers = LoreTimers()
    seen = []
    for turn, message in plan:
        result = scan([item], [message], turn=turn, state=timers)
        timers = result.timers
        if result.activated:
            seen.append((turn, "fired", result.activated[0].reason))
        elif result.rejected:
            seen.append((turn, "rejected", result.rejected[0].reason))
        else:
            seen.append((turn, "-", ""))
    return seen


def test_sticky_cooldown_delay_follow_the_documented_timeline() -> None:
    # SillyTavern's example: sticky 3, cooldown 2; the delay blocks the first turn.
    item = entry("Omen", ["omen"], sticky=3, cooldown=2, delay=1)
    plan = [
        (0, "an omen"),
        (1, "an omen"),
        (2, "calm"),
        (3, "calm"),
        (4, "calm"),
        (5, "an omen"),
        (6, "an omen"),
        (7, "an omen"),
    ]
    assert _turns(item, plan) == [
        (0, "rejected", "delay until turn 1"),
        (1, "fired", "key 'omen' matched in message -1"),
        (2, "fired", "sticky: fired on turn 1, active through turn 4"),
        (3, "fired", "sticky: fired on turn 1, active through turn 4"),
        (4, "fired", "sticky: fired on turn 1, active through turn 4"),
        (5, "rejected", "cooldown 2 turns (can fire again on turn 7)"),
        (6, "rejected", "cooldown 1 turn (can fire again on turn 7)"),
        (7, "fired", "key 'omen' matched in message -1"),
    ]


def test_cooldown_alone_and_no_refresh_while_active() -> None:
    item = entry("Omen", ["omen"], cooldown=2)
    plan = [(3, "an omen"), (4, "an omen"), (5, "an omen"), (6, "an omen")]
    assert _turns(item, plan) == [
        (3, "fired", "key 'omen' matched in message -1"),
        (4, "rejected", "cooldown 2 turns (can fire again on turn 6)"),
        (5, "rejected", "cooldown 1 turn (can fire again on turn 6)"),
        (6, "fired", "key 'omen' matched in message -1"),
    ]


def test_sticky_is_not_extended_by_matching_again() -> None:
    item = entry("Omen", ["omen"], sticky=2)
    plan = [(1, "an omen"), (2, "an omen"), (3, "an omen"), (4, "calm")]
    assert _turns(item, plan) == [
        (1, "fired", "key 'omen' matched in message -1"),
        (2, "fired", "sticky: fired on turn 1, active through turn 3"),
        (3, "fired", "sticky: fired on turn 1, active through turn 3"),
        (4, "-", ""),
    ]


def test_sticky_skips_the_probability_roll() -> None:
    item = entry("Omen", ["omen"], sticky=5, probability=40)
    first = next(s for s in range(100) if scan([item], ["omen"], seed=s, turn=1).activated)
    timers = scan([item], ["omen"], seed=first, turn=1).timers
    for turn in range(2, 7):
        result = scan([item], ["calm"], seed=first, turn=turn, state=timers)
        assert fired(result) == ["Omen"]
        timers = result.timers


def test_effects_started_on_a_replayed_turn_are_dropped() -> None:
    item = entry("Omen", ["omen"], sticky=3)
    timers = scan([item], ["an omen"], turn=4).timers
    assert fired(scan([item], ["calm"], turn=5, state=timers)) == ["Omen"]
    # Regenerating turn 4: the sticky it started does not hold, the keys decide again.
    assert fired(scan([item], ["calm"], turn=4, state=timers)) == []


def test_editing_an_entry_drops_its_running_effect() -> None:
    item = entry("Omen", ["omen"], sticky=3)
    timers = scan([item], ["an omen"], turn=1).timers
    edited = item.model_copy(update={"content": "A new omen text."})
    assert fired(scan([edited], ["calm"], turn=2, state=timers)) == []


def test_delay_blocks_until_its_turn() -> None:
    item = entry("Late", ["omen"], delay=5)
    assert rejected(scan([item], ["omen"], turn=4)) == {"Late": "delay until turn 5"}
    assert fired(scan([item], ["omen"], turn=5)) == ["Late"]


# -- timers persistence ------------------------------------------------------------------------


def test_timers_round_trip_through_json() -> None:
    items = [entry("Sticky", ["omen"], sticky=2), entry("Cool", ["omen"], cooldown=3)]
    timers = scan(items, ["omen"], turn=2).timers
    assert set(timers.sticky) == {"World@0"} and set(timers.cooldown) == {"World@1"}
    assert (timers.sticky["World@0"].start, timers.sticky["World@0"].end) == (2, 4)
    assert (timers.cooldown["World@1"].start, timers.cooldown["World@1"].end) == (2, 5)
    assert timers.fired == {"World@0": 2, "World@1": 2}
    back = LoreTimers.from_dict(json.loads(json.dumps(timers.to_dict())))
    assert back == timers
    later = scan(items, ["omen"], turn=3, state=back)
    assert reasons(later) == {"Sticky": "sticky: fired on turn 2, active through turn 4"}
    assert rejected(later) == {"Cool": "cooldown 3 turns (can fire again on turn 6)"}


@pytest.mark.parametrize(
    ("junk", "field"),
    [
        ([], "lore timers: must be an object"),
        ({"sticky": []}, "lore timers.sticky"),
        ({"sticky": {"k": [1, 2, "d"]}}, "lore timers.sticky.k"),
        ({"cooldown": {"k": [1, "2", "d", False]}}, "lore timers.cooldown.k"),
        ({"cooldown": {"k": [True, 2, "d", False]}}, "lore timers.cooldown.k"),
        ({"fired": {"k": "3"}}, "lore timers.fired"),
        ({"fired": [1]}, "lore timers.fired"),
        ({"fired": {str(n): 1 for n in range(100_001)}}, "lore timers.fired"),
    ],
)
def test_timers_from_junk_is_a_one_line_error(junk: object, field: str) -> None:
    with pytest.raises(LoreweaverError) as caught:
        LoreTimers.from_dict(junk)
    assert str(caught.value).startswith(field)
    assert "\n" not in str(caught.value)


def test_timers_from_empty_object_is_empty() -> None:
    assert LoreTimers.from_dict({}) == LoreTimers()
