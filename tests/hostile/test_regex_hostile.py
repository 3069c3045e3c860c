"""Hostile regex lorebook keys (#14.2): generated shapes × subject texts, run through the real CLI
(`characters validate`, `prompt --explain`) under the harness's time and memory limits, and
in-process properties of the matcher (it agrees with Python's `re` where both mean the same, and
any text as a pattern either compiles or is refused with a reason).

Per-class counts are printed (`pytest -s` shows them): generated, refused (with a reason),
accepted, and the CLI verdicts. Expected: 0 hangs, 0 crashes, 0 tracebacks.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from hostile.harness import Outcome, run_limited
from hypothesis import given, settings
from hypothesis import strategies as st

from app.home import Home
from app.memory.lore import (
    BadKey,
    KeyRules,
    RegexBudget,
    compile_key,
    encode,
    haystack,
    key_problem,
)

Shape = Callable[[random.Random], str]
BIG = [0, 1, 2, 999, 1000, 1001, 65535, 2**31 - 1, 2**32 - 1, 2**64, 10**30]


def _nested_quantifiers(rng: random.Random) -> str:
    depth = rng.randint(1, 12)
    inner = rng.choice(["a", "a+", "a*", "[ab]", "\\w", "."])
    body = inner
    for _ in range(depth):
        body = f"({body}){rng.choice(['+', '*', '{2,}', '{30}', '?', '+?'])}"
    return body + rng.choice(["$", "!", "b$", ""])


def _overlapping_alternation(rng: random.Random) -> str:
    words = [("a" * rng.randint(1, 4)) + rng.choice(["", "b"]) for _ in range(rng.randint(2, 6))]
    star = "a*" * rng.randint(0, 10)
    return f"{star}({'|'.join(words)}){rng.choice(['+', '*', '{1,100}'])}$"


def _counted_repeats(rng: random.Random) -> str:
    low, high = rng.choice(BIG), rng.choice(BIG)
    shape = rng.choice(["a{%d}", "a{%d,}", "a{%d,%d}", "(a{%d}){%d}", "(?:ab{%d,%d})+"])
    values = (low, high)[: shape.count("%d")]
    return shape % values


def _deep_groups(rng: random.Random) -> str:
    depth = rng.choice([10, 100, 300, 499, 500, 1000, 1500])
    opener = rng.choice(["(", "(?:", "[", "(?<g>"])
    closer = "]" if opener == "[" else ")"
    return opener * depth + "a" + closer * rng.choice([depth, depth - 1, 0])


def _backreferences(rng: random.Random) -> str:
    return rng.choice(
        [
            r"(a)\1",
            r"(?<x>a)\k<x>",
            r"\1",
            r"(a)(b)\2\1",
            r"(a)\10",
            r"\k<nope>",
            r"(a*)\1+$",
            r"(?<n>\w+)\s\k<n>",
        ]
    )


def _lookarounds(rng: random.Random) -> str:
    head = rng.choice(["(?=", "(?!", "(?<=", "(?<!"])
    return f"{'a*' * rng.randint(0, 5)}{head}{rng.choice(['a', 'a+b', '(?=a)a'])})" + "b?"


def _unicode(rng: random.Random) -> str:
    return rng.choice(
        [
            r"\p{L}+",
            r"\p{Script=Greek}+",
            r"\p{Lu}\p{Ll}*",
            r"\u{1F409}",
            r"\uD83D\uDC09",
            r"[\u0000-\uFFFF]+$",
            r"\P{L}{3}",
            "é+",
            "🐉|Ω",
            r"\u{110000}",
            r"\uD83D",
            r"[\u{1F400}-\u{1F4FF}]",
            r"\p{Nope}",
            r"\cJ\x41\0",
            r"[^\s\S]",
            r"\S+\s",
        ]
    )


def _invalid(rng: random.Random) -> str:
    return rng.choice(
        [
            "([a-",
            "(",
            ")",
            "[",
            "*a",
            "a**",
            "a{2,1}",
            "(?",
            "(?P<",
            "[z-a]",
            "+",
            "a|*",
            "(?<1>a)",
            "\\",
            "a)",
            "(?i",
            "[[:alpha:]",
            "{",
            "a{,5}",
        ]
    )


CLASSES: dict[str, Shape] = {
    "nested quantifiers": _nested_quantifiers,
    "overlapping alternation": _overlapping_alternation,
    "counted repeats": _counted_repeats,
    "deep groups": _deep_groups,
    "backreferences": _backreferences,
    "lookarounds": _lookarounds,
    "unicode": _unicode,
    "invalid syntax": _invalid,
}
PER_CLASS = 24
SUBJECTS = {
    "40 a + !": "a" * 40 + "!",
    "long ab": "ab" * 3000 + "!",
    "unicode lines": "Ωmega ñandú 🐉 Αθήνα\r\n" * 150,
}
_PLAIN = re.compile(r"^/.*/[a-z]*[^gimsuy/]+[a-z]*$", re.S)
"""A `/…/x` key: not a regex in SillyTavern's syntax (unknown flag), so plain text."""


def _corpus() -> dict[str, list[str]]:
    rng = random.Random(14)
    out: dict[str, list[str]] = {}
    for name, shape in CLASSES.items():
        flags = ["", "i", "m", "s", "u", "g", "y", "gimsuy", "ii", "x"]
        out[name] = [f"/{shape(rng)}/{rng.choice(flags)}" for _ in range(PER_CLASS)]
    return out


def _write_sheet(folder: Path, corpus: dict[str, list[str]]) -> Path:
    entries: list[dict[str, object]] = [
        {"name": f"{name} {i}", "keys": [key], "content": f"Lore of {name} {i}."}
        for name, keys in corpus.items()
        for i, key in enumerate(keys)
    ]
    entries.append(
        {
            "name": "bare deep",
            "use_regex": True,
            "keys": ["(" * 600 + "a" + ")" * 600],
            "content": "Bare.",
        }
    )
    sheet = {
        "name": "Hostile",
        "description": "Keeps odd lore.",
        "first_message": "Hm.",
        "world": ["hostile-world"],
        "character_book": {"name": "Odd book", "scan_depth": 4, "entries": entries},
    }
    path = folder / "hostile.yaml"
    path.write_text(yaml.safe_dump(sheet, allow_unicode=True), encoding="utf-8")
    return path


def _write_world(home: Home) -> Path:
    home.lorebooks.mkdir(parents=True, exist_ok=True)
    book = {
        "name": "Hostile world",
        "entries": [
            {"name": "world bad", "keys": ["/(a|aa)+$/", "/([a-/"], "content": "W."},
            {"name": "world fine", "keys": ["/drag(on)?/i"], "content": "Dragons."},
        ],
    }
    path = home.lorebooks / "hostile-world.yaml"
    path.write_text(yaml.safe_dump(book), encoding="utf-8")
    return path


def _report(title: str, rows: dict[str, Counter[str]]) -> None:
    print(f"\n{title}")
    for name, counts in rows.items():
        print(f"  {name:<26} " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))


def test_hostile_regex_keys_through_the_cli(lw_home: Home, tmp_path: Path) -> None:
    corpus = _corpus()
    sheet = _write_sheet(tmp_path, corpus)
    world = _write_world(lw_home)
    rows: dict[str, Counter[str]] = {}
    bad_keys = 0
    for name, keys in corpus.items():
        problems = [key_problem(key) for key in keys]
        bad_keys += sum(p is not None for p in problems)
        rows[name] = Counter(
            "refused" if p else "plain text" if _PLAIN.match(key) else "regex"
            for key, p in zip(keys, problems, strict=True)
        )
    bad_keys += 1 + 1  # the bare 1,200-character key; the world book's `/([a-/`

    verdicts: Counter[str] = Counter()
    validated = run_limited("characters", "validate", str(sheet))
    _assert_no_escape(validated)
    assert validated.returncode == 1
    lines = validated.error_lines
    verdicts[f"validate: exit 1, {len(lines)} lines"] += 1
    assert len(lines) == bad_keys, validated.stderr[-3000:]
    named = re.compile(r"^loreweaver: error: (\S+): entry \d+ '[^']*': key '.*': .+$")
    for line in lines:
        match = named.match(line)
        assert match is not None, line
        assert match.group(1) in {str(sheet), str(world)}, line

    for label, text in SUBJECTS.items():
        shown = run_limited("prompt", str(sheet), "--explain", "--say", text)
        verdicts[f"prompt {label}: {shown.verdict()}"] += 1
        _assert_no_escape(shown)
        assert shown.returncode == 0, shown.describe()
        assert "lore not used" in shown.stdout
    rows["(cli runs)"] = verdicts
    _report(
        f"hostile regex keys: {sum(len(k) for k in corpus.values())} generated + 4 fixed, "
        f"{bad_keys} refused with a reason",
        rows,
    )


def _assert_no_escape(outcome: Outcome) -> None:
    assert outcome.verdict() not in {"hang", "crash", "traceback"}, outcome.describe()


def test_every_generated_key_is_matched_or_refused_in_process() -> None:
    """Each key against each subject through the scan's own matcher: an answer or `BadKey`."""
    counts: dict[str, Counter[str]] = {}
    hays = {label: haystack([("message -1", text)]) for label, text in SUBJECTS.items()}
    for name, keys in _corpus().items():
        counts[name] = Counter()
        for key in keys:
            for hay in hays.values():
                try:
                    found = hay.find(key, KeyRules())
                except BadKey:
                    counts[name]["refused"] += 1
                else:
                    counts[name]["matched" if found else "no match"] += 1
    _report("in process (key × subject)", counts)
    assert sum(c["matched"] for c in counts.values()) > 0


# -- properties --------------------------------------------------------------------------------

ATOMS = st.sampled_from(
    [
        "a",
        "b",
        "c",
        ".",
        "[ab]",
        "[^a]",
        r"\d",
        r"\w",
        r"\W",
        r"\b",
        "^",
        "$",
        "1",
        " ",
        "-",
        r"\.",
        "[a-c]",
        "_",
    ]
)


def _quantified(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    suffix = st.sampled_from(["", "?", "*", "+", "{2}", "{1,3}", "{0,}", "*?", "+?"])
    anchors = ("^", "$", r"\b")  # a quantified anchor means nothing (and Python refuses it)
    return st.tuples(inner, suffix).map(lambda p: p[0] if p[0] in anchors else p[0] + p[1])


PATTERNS = st.recursive(
    _quantified(ATOMS),
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=4).map("".join),
        st.lists(inner, min_size=2, max_size=3).map(lambda p: "(" + "|".join(p) + ")"),
        _quantified(inner.map(lambda p: f"(?:{p})")),
        _quantified(inner.map(lambda p: f"({p})")),
    ),
    max_leaves=8,
)
SUBJECT = st.text(alphabet="abc1 _-.", max_size=12)


@settings(max_examples=400, deadline=None)
@given(PATTERNS, SUBJECT, st.booleans())
def test_matching_agrees_with_python_re_on_their_common_ground(
    pattern: str, subject: str, ignore_case: bool
) -> None:
    try:
        compiled = compile_key(pattern, "i" if ignore_case else "")
    except BadKey as exc:  # only size limits may refuse these shapes
        assert "too large" in str(exc) or "repeat" in str(exc), (pattern, exc)
        return
    expected = re.search(pattern, subject, re.IGNORECASE if ignore_case else 0)
    found = compiled.find(encode(subject), RegexBudget())
    assert (found is None) == (expected is None), (pattern, subject)
    if expected is not None:
        assert found == len(subject[: expected.start()].encode())


@settings(max_examples=400, deadline=None)
@given(
    st.text(max_size=60), st.sampled_from(["", "i", "u", "imsuy", "gg", "q"]), st.text(max_size=80)
)
def test_any_text_as_a_pattern_is_compiled_or_refused_with_a_reason(
    pattern: str, flags: str, subject: str
) -> None:
    try:
        compiled = compile_key(pattern, flags)
    except BadKey as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    data = encode(subject)
    found = compiled.find(data, RegexBudget())
    assert found is None or 0 <= found <= len(data)


@pytest.mark.parametrize(
    "key", ["/(a|a)+$/", "/(a|aa)+$/", "/((a+))+$/", "/(a+){30}$/", "/a*a*a*a*a*a*a*a*$/"]
)
def test_the_shapes_that_hung_for_minutes_answer_at_once(key: str) -> None:
    hay = haystack([("message -1", "a" * 40 + "!")])
    expected = "message -1" if key.endswith("*$/") else None
    assert hay.find(key, KeyRules()) == expected
