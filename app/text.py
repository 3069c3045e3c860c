"""Untrusted text made safe for a terminal: no escape sequence or control character gets through.

Card names, chat text, model names and replies come from strangers; printed raw, an ESC sequence
can recolour, retitle, move the cursor, hide text or (on some terminals) answer back. So at every
output boundary: ESC sequences (CSI, OSC, DCS/SOS/PM/APC, two-byte ones, and their 8-bit C1
forms) are removed whole; any other C0 control (except newline and tab in multi-line text), DEL
and C1 control is shown as a visible stand-in (U+2400 pictures for C0/DEL, U+FFFD for C1); a
lone CR becomes a newline (it could overwrite a line). Bidirectional embeddings, overrides and
isolates (U+202A–202E, U+2066–2069) are removed: they reorder what a reader sees (the "Trojan
Source" trick) and ordinary right-to-left text needs none of them; the LRM/RLM marks are kept.
"""

from __future__ import annotations

import re

_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor movement, erase
    r"|(?:\x1b\]|\x9d)[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)"  # OSC: titles, hyperlinks, clipboard
    r"|(?:\x1b[PX^_]|[\x90\x98\x9e\x9f])[^\x1b\x9c]*(?:\x1b\\|\x9c)"  # DCS, SOS, PM, APC
    r"|\x1b[ -/]*[0-OQ-WYZ\\`a-~]"  # every other ESC sequence (not an unfinished one above)
)
_PARTIAL = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*"
    r"|(?:\x1b\]|\x9d)[^\x07\x1b\x9c]*\x1b?"
    r"|(?:\x1b[PX^_]|[\x90\x98\x9e\x9f])[^\x1b\x9c]*\x1b?"
    r"|\x1b[ -/]*"
)
"""The start of a sequence (to the end of the text) that a later chunk may complete."""
_INTRODUCER = re.compile(r"[\x1b\x90\x98\x9b\x9d\x9e\x9f]")
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_BIDI = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A)])
_VISIBLE: dict[int, str | None] = {
    **{c: chr(0x2400 + c) for c in range(0x20)},
    0x7F: "\u2421",
    **{c: "\ufffd" for c in range(0x80, 0xA0)},
    **_BIDI,
}
_MULTI_LINE = {**_VISIBLE, ord("\n"): "\n", ord("\t"): "\t", ord("\r"): "\n"}
_ONE_LINE = {**_VISIBLE, ord("\n"): " ", ord("\t"): " ", ord("\r"): " "}
MAX_PENDING = 256
"""Longest incomplete sequence a stream holds back waiting for its end."""


def safe_text(text: str) -> str:
    """Multi-line text for a terminal: newlines and tabs kept, everything else made harmless."""
    if not _UNSAFE.search(text):
        return text
    return _SEQUENCE.sub("", text.replace("\r\n", "\n")).translate(_MULTI_LINE)


def safe_line(text: str) -> str:
    """One line for a terminal (a name, a table cell, an error): line breaks become spaces."""
    if not _UNSAFE.search(text):
        return text
    return _SEQUENCE.sub("", text.replace("\r\n", "\n")).translate(_ONE_LINE)


class SafeStream:
    """`safe_text` for text arriving in chunks: a sequence split across chunks is held back
    until its end arrives (at most `MAX_PENDING` characters), so it is removed whole."""

    def __init__(self) -> None:
        self._pending = ""

    def feed(self, chunk: str) -> str:
        text = self._pending + chunk
        if not _UNSAFE.search(text):
            self._pending = ""
            return text
        cut = len(text)
        consumed = 0  # scan as `safe_text` will: a complete sequence hides what it contains
        for start in _INTRODUCER.finditer(text):
            at = start.start()
            if at < consumed:
                continue
            whole = _SEQUENCE.match(text, at)
            if whole:
                consumed = whole.end()
            elif len(text) - at <= MAX_PENDING and _PARTIAL.fullmatch(text, at):
                cut = at
                break
        if text.endswith("\r"):  # may be the first half of a CRLF
            cut = min(cut, len(text) - 1)
        self._pending = text[cut:]
        return safe_text(text[:cut])

    def flush(self) -> str:
        """What is still held back, made harmless (an unfinished sequence is shown, not run)."""
        text, self._pending = self._pending, ""
        return safe_text(text)


_JSON_UNSAFE = re.compile(r"[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def safe_json(dumped: str) -> str:
    """JSON text (from `json.dumps(..., ensure_ascii=False)`) with the controls that encoder
    leaves raw (DEL, C1, bidi controls) written as `\\uXXXX` escapes: the same data, still valid
    JSON (those characters can only occur inside strings), and nothing a terminal would act on."""
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", dumped)
