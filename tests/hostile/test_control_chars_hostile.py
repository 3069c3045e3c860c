"""Control characters in names and texts never reach the terminal raw.

A character sheet, a model file, a chat and a persona are filled with every C0 and C1 control
character and a set of ESC sequences (colour, cursor, clear screen, title, hyperlink, DCS, 8-bit
CSI, bidi overrides), in several placements; then the CLI commands that print them run as
limited subprocesses, and neither stdout nor stderr may hold a raw ESC, C1 or other control.
Per-command counts are printed (`pytest -s`).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import ggufdata as g
import pytest
import yaml
from hostile.harness import assert_survived, run_limited

from app.cli import main
from app.home import Home
from app.memory.store import ChatStore

C0_C1 = "".join(chr(c) for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)])
SEQUENCES = (
    "\x1b[31mred\x1b[0m",
    "\x1b[2J\x1b[H",
    "\x1b]0;pwned\x07",
    "\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\",
    "\x1bP+q544e\x1b\\",
    "\x9b6n",
    "\x1b[?1049h",
    "\x1bc",
    "\x1b[10A",
    "\u202eevil\u202c",
    "\x1b[",
)
ARG = C0_C1.replace("\0", "")
"""Every control an argument can carry (argv strings end at NUL)."""
RAW = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
"""What may not appear in output (CR included: it could overwrite a line)."""


def _evil(tag: str) -> list[str]:
    """Shapes: every control at once, each sequence alone, and both around ordinary text."""
    return [
        f"{tag}{C0_C1}",
        *(f"{tag} {seq} end" for seq in SEQUENCES),
        f"{C0_C1[::-1]}{tag}{''.join(SEQUENCES)}",
    ]


def _assert_clean(args: tuple[str, ...], out: str, err: str) -> None:
    for stream, text in (("stdout", out), ("stderr", err)):
        found = RAW.search(text)
        assert found is None, f"{args}: raw {found.group()!r} on {stream}: {text[:400]!r}"


def _setup(home: Home) -> tuple[str, int]:
    sample = Path(__file__).resolve().parents[2] / "characters" / "brenna.yaml"
    sheet = yaml.safe_load(sample.read_text(encoding="utf-8"))
    names = _evil("Name")
    sheet["name"] = names[0]
    sheet["description"] = "\n".join(_evil("desc"))
    sheet["first_message"] = "\n".join(_evil("hello"))
    (home.characters / "evil.yaml").write_text(
        yaml.safe_dump(sheet, allow_unicode=True), encoding="utf-8"
    )
    for i, text in enumerate(_evil("model")):
        (home.models / f"evil{i}.gguf").write_bytes(
            g.gguf(g.model_kvs(general__name=(g.STRING, text)))
        )
    (home.models / "esc\x1b[31m\x9bname.gguf").write_bytes(b"GGUF\x1b[2J")
    store = ChatStore.open(home)
    try:
        first = 0
        for i, text in enumerate(_evil("chat")):
            chat = store.create_chat("evil", title=text, user_name=text)
            first = first or chat.id
            store.add_message(
                chat.id, "assistant", text, name=names[i % len(names)], parent_id=None
            )
            store.add_message(chat.id, "user", text)
    finally:
        store.close()
    return "evil", first


def listings(character: str, chat_id: int, card: str) -> list[tuple[str, ...]]:
    """Every listing command, read like the table it is."""
    return [
        ("characters", "import", card),
        ("characters", "import", card),  # new, then already there
        ("characters", "list"),
        ("characters", "list", "--json"),
        ("characters", "show", character),
        ("characters", "validate"),
        ("models",),
        ("models", "--json"),
        ("chats", "list"),
        ("chats", "list", "--json"),
        ("chats", "show", str(chat_id)),
        ("chats", "show", str(chat_id), "--json"),
        ("chats", "export", str(chat_id)),
        *(("characters", "show", text) for text in _evil("missing")[:3]),
        ("chats", "show", "1" + SEQUENCES[0]),
        ("models", "--model", "/nowhere/\x1b]0;t\x07.gguf"),
    ]


def test_listings_print_no_raw_control(
    lw_home: Home, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The commands that only read and print, in-process (nothing native can crash there)."""
    character, chat_id = _setup(lw_home)
    card = lw_home.root / f"card{SEQUENCES[0]}\x85.json"
    card.write_text(
        json.dumps(
            {
                "spec": "chara_card_v2",
                "spec_version": "2.0",
                "data": {
                    "name": C0_C1 + SEQUENCES[1],
                    "description": "".join(_evil("card")),
                    "first_mes": C0_C1,
                },
            }
        ),
        encoding="utf-8",
    )
    monkeypatch.setenv("COLUMNS", "200")
    verdicts: Counter[str] = Counter()
    codes: list[tuple[tuple[str, ...], int, str]] = []
    for args in listings(character, chat_id, str(card)):
        try:
            code = main(list(args))
        except SystemExit as exit_:
            code = int(exit_.code or 0)
        out, err = capsys.readouterr()
        _assert_clean(args, out, err)
        assert "Traceback" not in err and len(err.strip().splitlines()) <= 1, (args, err)
        verdicts[f"{args[0]}:{'ok' if code == 0 else 'error'}"] += 1
        codes.append((args, code, err))
    print(f"\ncontrol characters, listings: {dict(verdicts)}")
    assert verdicts["characters:error"] == 3 and verdicts["chats:ok"] == 5, codes
    assert verdicts["characters:ok"] == 6, codes


def test_chat_and_prompt_print_no_raw_control(lw_home: Home) -> None:
    """The commands that load the model, and errors before it loads, as limited subprocesses."""
    character, _chat_id = _setup(lw_home)
    commands: list[tuple[str, ...]] = [
        ("prompt", character, "--say", SEQUENCES[0] + ARG, "--user", ARG),
        ("prompt", character, "--explain", "--say", SEQUENCES[2]),
        ("chat", character, "--say", "hi" + SEQUENCES[1], "--max-tokens", "8", "--seed", "1"),
        ("chat", character, "--model", SEQUENCES[1] + ".gguf"),
        ("chat", ARG, "--say", "hi"),
    ]
    verdicts: Counter[str] = Counter()
    for args in commands:
        outcome = run_limited(*args, timeout=240)
        assert_survived(outcome)
        _assert_clean(args, outcome.stdout, outcome.stderr)
        verdicts[f"{args[0]}:{outcome.verdict()}"] += 1
    print(
        f"\ncontrol characters, model commands: {len(C0_C1)} controls and {len(SEQUENCES)} "
        f"sequences per text; verdicts {dict(verdicts)}"
    )
    assert verdicts["chat:ok"] == 1 and verdicts["prompt:ok"] == 2
