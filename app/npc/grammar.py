"""A reply schema as a llama.cpp grammar (GBNF), checked to really constrain.

llama-cpp-python's converter (`json_schema_to_gbnf`) fails loudly on what it cannot read, but
quietly emits its generic "any JSON" rules for an open schema such as `{}`, and quietly drops
keywords it does not enforce (the schema module refuses those). Both are errors here: a reply
grammar that lets anything through is not a contract a game can rely on.
"""

from __future__ import annotations

import json
import re
import weakref
from typing import Any

from app.errors import LoreweaverError
from app.npc.config import fail
from app.sheets.sheet import Sheet

ANY_JSON = re.compile(r"^(value|object|array) ::=", re.M)
"""The converter's generic rules: present only when part of the schema is open."""
LOOSE_CHAR = re.compile(r'^char ::= \[\^"\\\\\] ', re.M)
STRICT_CHAR = r'char ::= [^"\\\x7F\x00-\x1F] '
"""llama-cpp-python 0.3.16's string character lets raw control characters through (a newline
inside a string), which JSON forbids: the rule is tightened as llama.cpp's own converter has it."""
_VERIFIED: weakref.WeakKeyDictionary[object, set[str]] = weakref.WeakKeyDictionary()
"""Grammars each engine has already checked (a chat's grammar is the same every turn)."""


def to_gbnf(sheet: Sheet, schema: dict[str, Any]) -> str:
    """The grammar for `schema`; one line naming the character when it cannot be made."""
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    try:
        gbnf = json_schema_to_gbnf(json.dumps(schema))
    except (AssertionError, ValueError, KeyError, TypeError, RecursionError) as exc:
        problem = " ".join(str(exc).split()) or type(exc).__name__
        raise fail(
            sheet, "structured", f"llama.cpp cannot turn the reply schema into a grammar: {problem}"
        ) from None
    if ANY_JSON.search(gbnf):
        raise fail(sheet, "structured", "part of the reply schema would allow any JSON")
    return LOOSE_CHAR.sub(lambda _: STRICT_CHAR, gbnf)


def verify(
    engine: object, sheet: Sheet, gbnf: str, valid: dict[str, Any], invalid: list[str]
) -> None:
    """With an engine that can run grammars: llama.cpp parses `gbnf`, accepts the `valid`
    reply and rejects each `invalid` text. Other engines (a test's fake) skip the check."""
    if not hasattr(engine, "grammar_accepts"):
        return
    checked = _VERIFIED.setdefault(engine, set())
    if gbnf in checked:
        return
    try:
        good = engine.grammar_accepts(gbnf, json.dumps(valid, ensure_ascii=False))
        bad = any(engine.grammar_accepts(gbnf, text) for text in invalid)
    except LoreweaverError as exc:
        raise fail(sheet, "structured", str(exc)) from None
    if not good:
        raise fail(sheet, "structured", "llama.cpp's grammar refuses a valid reply")
    if bad:
        raise fail(sheet, "structured", "llama.cpp's grammar does not constrain the reply")
    checked.add(gbnf)
