"""The documented card macros, by plain substitution.

Card text is untrusted data: nothing in it is evaluated as a template. Only the listed macros
are replaced, case-insensitively, and everything else (other `{{…}}`, Jinja syntax) is left as is.
"""

from __future__ import annotations

import re

_MACRO = re.compile(r"\{\{\s*(char|user)\s*\}\}|<(BOT|USER)>", re.IGNORECASE)


def substitute(text: str, *, char: str, user: str) -> str:
    def repl(match: re.Match[str]) -> str:
        key = (match.group(1) or match.group(2)).lower()
        return char if key in ("char", "bot") else user

    return _MACRO.sub(repl, text)
