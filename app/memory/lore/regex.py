"""Regex lorebook keys: SillyTavern's JavaScript `/pattern/flags`, matched by RE2 in linear time.

A card from a stranger can carry any regex, and a backtracking engine (Python's `re`, JS's) can
take minutes on `(a|aa)+$` or `a*a*a*a*$`; a blacklist of such shapes is never complete. RE2
runs every pattern in time linear in the text, so no key can hang a turn, and its parser is not
recursive, so no key can crash it. The JavaScript syntax is translated first, by one linear pass:

- flags: `i` (case-insensitive), `m` (`^`/`$` at line breaks), `s` (`.` matches newlines), `u`
  (enables `\\u{…}` and `\\p{…}`; text is always matched by code point), `g` (no effect: a key
  is tested once, as SillyTavern does), `y` (sticky: the match must start where the scanned text
  starts); a flag given twice or an unknown one makes the key invalid, as in JavaScript;
- `(?<name>…)` groups, `\\uXXXX` (surrogate pairs joined), `\\u{…}`, `\\xHH`, `\\cX`, `\\0`, `[^]`
  (any character) and `[]` (nothing), `\\s` / `\\S` with JavaScript's Unicode spaces, and
  JavaScript's identity escapes (`\\q` is `q` outside the `u` flag).

Refused with a reason (the entry is skipped and says why): lookahead and lookbehind
(`(?=`, `(?!`, `(?<=`, `(?<!`), backreferences (`\\1`, `\\k<name>`), octal escapes, repeat
counts over 1000, and anything RE2 cannot compile or that needs more than its memory budget.
Known small differences: case-insensitive matching uses Unicode simple case folding (JS without
`u` uses upper-casing); `.` and `$` treat only `\\n` as a line break (JS also `\\r`, U+2028/9);
`\\S` inside a class is RE2's (ASCII spaces). `$<name>` is replacement syntax and has no
meaning in a key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import re2

MAX_REPEAT = 1000
"""RE2's own limit on a counted repeat; checked here so `{4294967295}` is refused, not read as
literal text."""
MAX_MEMORY = 8 << 20
"""RE2's budget for one compiled key (bytes): a pattern that needs more is refused."""
MAX_PROGRAM = 2000
"""Instructions in one compiled key: matching costs at worst this much per byte scanned."""
MAX_WORK = 2_000_000_000
"""Regex work for one turn's scan, in instructions × bytes (about 2 s at RE2's slowest here),
so even a book of many huge keys costs a bounded time, the same on every machine."""
FLAGS = "gimsuy"
JS_SPACES = (
    r"\t\n\x0B\f\r \x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}"
    r"\x{3000}\x{FEFF}"
)
"""What JavaScript's `\\s` matches (RE2's is ASCII only)."""
_SAME_ESCAPES = set("dDwWbBtnrfv") | set("\\^$.|?*+()[]{}/-")
_COUNT = re.compile(r"\{(\d+)(,(\d*))?\}")
_MODIFIERS = re.compile(r"\(\?[ims]*(?:-[ims]+)?:")
_NAME = re.compile(r"[A-Za-z_$][\w$]*>")
_PROPERTY = re.compile(r"\{(?:(?:Script|sc|General_Category|gc)=)?([A-Za-z_]+)\}")
_HEX2 = re.compile(r"[0-9A-Fa-f]{2}")
_HEX4 = re.compile(r"[0-9A-Fa-f]{4}")
_BRACED = re.compile(r"\{([0-9A-Fa-f]{1,6})\}")


class BadKey(Exception):
    """A regex key that cannot be used; the message says why (for `--explain` and validate)."""


@dataclass(frozen=True)
class KeyRegex:
    """A compiled key, matched against UTF-8 bytes (so the scanned text is encoded once)."""

    compiled: re2._Regexp
    sticky: bool

    def find(self, data: bytes, budget: RegexBudget) -> int | None:
        """The byte offset of the first match in `data`, or None; paid from `budget`."""
        budget.spend(self.compiled.programsize * max(1, len(data)))
        found = self.compiled.match(data) if self.sticky else self.compiled.search(data)
        return None if found is None else int(found.start())


class RegexBudget:
    """The regex work one scan may still do (see `MAX_WORK`); each search pays its worst case."""

    def __init__(self, units: int = MAX_WORK) -> None:
        self.left = units

    def spend(self, units: int) -> None:
        if units > self.left:
            raise BadKey(
                "skipped: this turn's regex work limit is used up "
                f"({MAX_WORK:,} steps; fewer or smaller regex keys fit)"
            )
        self.left -= units


def encode(text: str) -> bytes:
    """Text as the matcher sees it: UTF-8, a lone surrogate kept as its (invalid) bytes."""
    return text.encode("utf-8", "surrogatepass")


def compile_key(source: str, flags: str) -> KeyRegex:
    """`source` with JavaScript `flags`, compiled for RE2; raises `BadKey` saying why."""
    return _compile(source, flags)


@lru_cache(maxsize=4096)
def _compile(source: str, flags: str) -> KeyRegex:
    for letter in flags:
        if letter not in FLAGS:
            raise BadKey(f"unknown regex flag {letter!r} (known: {FLAGS})")
        if flags.count(letter) > 1:
            raise BadKey(f"regex flag {letter!r} is given twice")
    inline = "".join(letter for letter in "ms" if letter in flags)
    translated = translate(source, unicode="u" in flags)
    options = re2.Options()
    options.log_errors = False
    options.never_capture = True  # only where a match starts counts; groups only cost time
    options.max_mem = MAX_MEMORY
    options.case_sensitive = "i" not in flags
    pattern = f"(?{inline}){translated}" if inline else translated
    try:
        compiled = re2.compile(encode(pattern), options)
    except re2.error as exc:
        detail = exc.args[0] if exc.args else "cannot be compiled"
        if isinstance(detail, bytes):
            detail = detail.decode("utf-8", "replace")
        raise BadKey(f"invalid regex: {' '.join(str(detail).split())}") from None
    if compiled.programsize > MAX_PROGRAM:
        raise BadKey(f"regex too large: {compiled.programsize} steps (at most {MAX_PROGRAM})")
    return KeyRegex(compiled, "y" in flags)


def translate(source: str, *, unicode: bool) -> str:
    """JavaScript regex syntax → RE2 syntax, in one pass; `BadKey` for what RE2 cannot do."""
    out: list[str] = []
    at, end = 0, len(source)
    in_class = False
    while at < end:
        char = source[at]
        if char == "\\":
            piece, at = _escape(source, at, in_class=in_class, unicode=unicode)
            out.append(piece)
            continue
        if in_class:
            if char == "]":
                in_class = False
            out.append("\\[" if char == "[" else char)
        elif char == "[":
            if source.startswith("[^]", at):
                out.append(r"[\x00-\x{10FFFF}]")
                at += 3
                continue
            if source.startswith("[]", at):
                out.append(r"[^\x00-\x{10FFFF}]")
                at += 2
                continue
            in_class = True
            out.append("[^" if source.startswith("[^", at) else "[")
            at += 2 if source.startswith("[^", at) else 1
            continue
        elif char == "(":
            piece, at = _group(source, at)
            out.append(piece)
            continue
        elif char == "{":
            count = _COUNT.match(source, at)
            if count is None:
                out.append("\\{")
            else:
                _check_count(count)
                out.append(count.group(0))
                at = count.end()
                continue
        elif char == "}":
            out.append("\\}")
        else:
            out.append(char)
        at += 1
    return "".join(out)


def _group(source: str, at: int) -> tuple[str, int]:
    if not source.startswith("(?", at):
        return "(", at + 1
    for opener, what in (
        ("(?=", "lookahead"),
        ("(?!", "negative lookahead"),
        ("(?<=", "lookbehind"),
        ("(?<!", "negative lookbehind"),
    ):
        if source.startswith(opener, at):
            raise BadKey(f"{what} {opener}…) is not supported (regex keys run in linear time)")
    if source.startswith("(?:", at):
        return "(?:", at + 3
    if source.startswith("(?<", at):
        name = _NAME.match(source, at + 3)
        if name is None:
            raise BadKey("invalid group name after (?<")
        return f"(?P<{name.group(0).replace('$', '_')}", name.end()
    modifiers = _MODIFIERS.match(source, at)
    if modifiers is not None:
        return modifiers.group(0), modifiers.end()
    raise BadKey(f"invalid group {source[at : at + 4]!r}…")


def _check_count(count: re.Match[str]) -> None:
    low, high = int(count.group(1)), count.group(3)
    top = int(high) if high else low
    if max(low, top) > MAX_REPEAT:
        raise BadKey(f"repeat count {max(low, top)} is over {MAX_REPEAT}")
    if high and top < low:
        raise BadKey(f"repeat counts out of order in {count.group(0)}")


def _escape(source: str, at: int, *, in_class: bool, unicode: bool) -> tuple[str, int]:
    """The RE2 form of the escape starting at `source[at]` (a backslash) and where it ends."""
    if at + 1 >= len(source):
        raise BadKey("the regex ends with a lone backslash")
    char = source[at + 1]
    after = at + 2
    if char == "u":
        return _unicode_escape(source, after, unicode=unicode)
    if char == "x":
        if _HEX2.fullmatch(source[after : after + 2]):
            return f"\\x{{{source[after : after + 2]}}}", after + 2
        return "x", after
    if char == "c":
        if source[after : after + 1].isascii() and source[after : after + 1].isalpha():
            return f"\\x{{{ord(source[after]) % 32:02X}}}", after + 1
        return r"\\c", after  # JavaScript: a `\c` not followed by a letter is itself
    if char == "0" and not source[after : after + 1].isdigit():
        return r"\x{00}", after
    if char.isdigit():
        raise BadKey(f"backreference or octal escape \\{char} is not supported")
    if char == "k" and source.startswith("<", after):
        raise BadKey("backreference \\k<…> is not supported (regex keys run in linear time)")
    if char in "pP" and unicode:
        prop = _PROPERTY.match(source, after)
        if prop is None:
            raise BadKey(f"\\{char} needs a property name in braces, as \\{char}{{L}}")
        return f"\\{char}{{{prop.group(1)}}}", prop.end()
    if char == "s":
        return (JS_SPACES if in_class else f"[{JS_SPACES}]"), after
    if char == "S" and not in_class:
        return f"[^{JS_SPACES}]", after
    if char == "b" and in_class:
        return r"\x{08}", after
    if char in _SAME_ESCAPES or char == "S":
        return ("/" if char == "/" else f"\\{char}"), after
    if unicode:
        raise BadKey(f"invalid escape \\{char} (with the u flag)")
    return _literal(char), after  # JavaScript's identity escape: `\q` is `q`


def _unicode_escape(source: str, at: int, *, unicode: bool) -> tuple[str, int]:
    """`\\uXXXX` (a surrogate pair becomes one character) or, with `u`, `\\u{X…}`."""
    braced = _BRACED.match(source, at) if unicode else None
    if braced is not None:
        value = int(braced.group(1), 16)
        if value > 0x10FFFF:
            raise BadKey(f"\\u{{{braced.group(1)}}} is beyond Unicode")
        return _code_point(value), braced.end()
    if _HEX4.fullmatch(source[at : at + 4]) is None:
        if unicode:
            raise BadKey("invalid \\u escape (with the u flag)")
        return "u", at
    value = int(source[at : at + 4], 16)
    low = source[at + 6 : at + 10] if source.startswith("\\u", at + 4) else ""
    if 0xD800 <= value < 0xDC00 and _HEX4.fullmatch(low) and 0xDC00 <= int(low, 16) < 0xE000:
        pair = 0x10000 + ((value - 0xD800) << 10) + (int(low, 16) - 0xDC00)
        return _code_point(pair), at + 10
    return _code_point(value), at + 4


def _code_point(value: int) -> str:
    if 0xD800 <= value < 0xE000:
        raise BadKey(f"lone surrogate \\u{value:04X} cannot be matched")
    return f"\\x{{{value:X}}}"


def _literal(char: str) -> str:
    return re.escape(char) if not char.isalnum() else char
