"""Untrusted text made safe for a terminal: whole sequences removed, other controls shown."""

from __future__ import annotations

import random
import re

from app.text import MAX_PENDING, SafeStream, safe_json, safe_line, safe_text

CONTROLS = "".join(chr(c) for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)])
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
SEQUENCES = [
    "\x1b[31m",
    "\x1b[0m",
    "\x1b[2J",
    "\x1b[10;20H",
    "\x1b[?1049h",
    "\x1b]0;pwned\x07",
    "\x1b]8;;http://evil\x1b\\",
    "\x1bP+q\x1b\\",
    "\x1b_apc\x1b\\",
    "\x1b^pm\x9c",
    "\x9b31m",
    "\x9d2;t\x07",
    "\x1bc",
    "\x1b(B",
    "\x1b7",
    "\x1b#8",
    "\x1b[38;2;1;2;3m",
]
FORBIDDEN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _hostile(rng: random.Random, n: int = 60) -> str:
    pool = [*CONTROLS, *BIDI, *SEQUENCES, "a", "é", "\n", "\t", "\r\n", " ", "[b]", "\u05d0"]
    return "".join(rng.choice(pool) for _ in range(n))


def test_nothing_a_terminal_acts_on_survives() -> None:
    rng = random.Random(7)
    for _ in range(2000):
        text = _hostile(rng)
        assert not FORBIDDEN.search(safe_text(text))
        line = safe_line(text)
        assert not FORBIDDEN.search(line) and "\n" not in line and "\t" not in line


def test_sequences_vanish_whole_and_other_controls_become_visible() -> None:
    assert safe_text("a\x1b[31mred\x1b[0m b\x1b]0;title\x07c") == "ared bc"
    assert safe_text("bell\x07 nul\x00 del\x7f nel\x85") == (
        "bell\u2407 nul\u2400 del\u2421 nel\ufffd"
    )
    assert safe_text("one\r\ntwo\rthree\tend") == "one\ntwo\nthree\tend"
    assert safe_line("one\r\ntwo\tthree") == "one two three"
    assert safe_text("\u202eevil\u202c \u200fmark") == "evil \u200fmark"  # overrides go, marks stay
    plain = "Ünïcödé, [markup] and *actions* stay as they are.\n"
    assert safe_text(plain) is plain


def test_a_stream_gives_the_same_text_however_it_is_cut() -> None:
    rng = random.Random(11)
    for _ in range(500):
        text = _hostile(rng, 80)
        whole = safe_text(text)
        stream, out, at = SafeStream(), [], 0
        while at < len(text):
            step = rng.randint(1, 6)
            piece = stream.feed(text[at : at + step])
            assert not FORBIDDEN.search(piece)
            out.append(piece)
            at += step
        out.append(stream.flush())
        assert "".join(out) == whole, repr(text)


def test_an_unterminated_sequence_is_not_held_forever() -> None:
    stream = SafeStream()
    shown = stream.feed("\x1b]0;" + "x" * (MAX_PENDING * 3))
    assert len(shown) > MAX_PENDING and "\x1b" not in shown
    assert "\x1b" not in stream.feed("\x1b[3") + stream.flush()


def test_json_keeps_the_data_and_escapes_what_the_encoder_leaves_raw() -> None:
    import json

    data = {"name": CONTROLS + BIDI + "é"}
    dumped = safe_json(json.dumps(data, ensure_ascii=False))
    assert not FORBIDDEN.search(dumped) and json.loads(dumped) == data and "é" in dumped
