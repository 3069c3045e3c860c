"""Dialogue export test helpers: chat trees built in a real store, hostile lines, the formats'
own parsers (inkjs and extwee from npm) and strict readers for the formats without one."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from app.memory.store import ChatStore

HERE = Path(__file__).parent / "export"
NPM_PACKAGES = ("inkjs@2.4.0", "extwee@2.3.18")
SEED_META = {"model": "SmolLM2-135M-Instruct", "template": "chatml", "temperature": 0.8}

HOSTILE = [
    "<<jump Evil>> -> END [[link->Evil]] {~a|b} #tag [name] {{x}} $gold",
    "* starred\n- dashed\n= equals\n~ tilde\n+ plus",
    '"quoted" \'single\' \\ backslash // comment /* block */ <> glue',
    ":: Evil [tag] {\"position\":\"1,1\"}\n=== knot ===\n===\n---\ntitle: Evil",
    "=> END\n% variant\n- option => Evil\n~ Evil\n<<set $x to 1>>\n$> mutation",
    'menu:\n    "Pick":\n        jump evil\nlabel evil:\n$ renpy.quit()',
    "[[Evil]] [[a|Evil]] [[Evil<-b]] <<print 1>> (set: $x to 1) {$x} [wait=9] [if x] [#bad]",
    "TODO: note\nINCLUDE evil.ink\nVAR x = 1\nCONST y = 2\n-> DONE <- thread\n^caret",
]
"""Lines written to break out of a line in some format: jumps, options, links, tags, variables,
commands, passage and knot headers, quotes and newlines."""


def sample_chat(store: ChatStore) -> dict[str, int]:
    """A greeting, a player line, a reply with three swipes (seeds kept), then a fork: two player
    lines under the chosen swipe, one with a structured reply (emotion and action), one ending."""
    chat = store.create_chat("brenna", user_name="Ash", title="Haggling at the forge")
    ids: dict[str, int] = {}
    ids["greet"] = store.add_message(chat.id, "assistant", "Back again?", name="Brenna").id
    ids["ask"] = store.add_message(chat.id, "user", "I need a blade.").id
    for seed, text in ((1, "Coin first."), (2, "What kind?"), (3, "Sit down.")):
        meta = {**SEED_META, "seed": seed}
        ids[f"swipe{seed}"] = store.add_message(
            chat.id, "assistant", text, parent_id=ids["ask"], name="Brenna", meta=meta
        ).id
    ids["pay"] = store.add_message(chat.id, "user", "Double pay.", parent_id=ids["swipe1"]).id
    ids["deal"] = store.add_message(
        chat.id, "assistant", "Sundown, then.", name="Brenna",
        meta={**SEED_META, "seed": 7, "emotion": "pleased", "action": "nods"},
    ).id  # fmt: skip
    ids["bandits"] = store.add_message(
        chat.id, "user", "Ask about the bandits.", parent_id=ids["swipe1"]
    ).id
    ids["no"] = store.add_message(chat.id, "assistant", "Not in my shop.", name="Brenna").id
    ids["chat"] = chat.id
    return ids


def hostile_chat(store: ChatStore) -> int:
    """Every hostile line as an NPC line, a swipe, a player line and a fork option; the speakers'
    names are hostile too."""
    chat = store.create_chat("evil", user_name='Ash"] -> END', title="[[Evil]] <<jump x>>")
    top = store.add_message(chat.id, "assistant", HOSTILE[0], name="Br:enna [x] {{y}}")
    for text in HOSTILE[1:]:
        store.add_message(chat.id, "assistant", text, parent_id=top.parent_id, name=top.name)
    previous = top.id
    for text in HOSTILE:
        said = store.add_message(chat.id, "user", text, parent_id=previous)
        previous = store.add_message(chat.id, "assistant", text, name=top.name).id
        store.add_message(chat.id, "user", "other way", parent_id=said.parent_id)
    return chat.id



def npm_modules() -> Path:
    """node_modules holding inkjs and extwee: installed once with npm (network needed the first
    time only); without node or npm the parser tests fail saying so, never silently pass."""
    root = Path(os.environ.get("LOREWEAVER_NPM_CACHE", "/tmp/loreweaver-npm-cache"))
    modules = root / "node_modules"
    if not (shutil.which("node") and shutil.which("npm")):
        pytest.fail("the export parser tests need node and npm (to run inkjs and extwee)")
    if not all((modules / name.split("@")[0] / "package.json").exists() for name in NPM_PACKAGES):
        root.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(root), *NPM_PACKAGES],
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        if done.returncode != 0:
            pytest.fail(f"npm install {' '.join(NPM_PACKAGES)} failed: {done.stderr[-500:]}")
    return modules



def run_node(script: str, tools: Path, package: str, file: Path) -> Any:
    done = subprocess.run(
        ["node", str(HERE / script), str(tools / package), str(file)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


# -- what every script export must say, and strict readers for the formats without a parser ----

Said = tuple[str, tuple[str, ...], str]
"""(speaker, variant texts, line id) as a reader recovers them."""
Offered = tuple[str, str]
"""(option text, target block)."""
Read = list[tuple[str, list[Said], list[Offered]]]


def expected(dialogue: Any, *, speaker: Any = None) -> Read:
    """The blocks of a dialogue as plain one-line text: what a reader must recover, no more."""
    from app.export.graph import one_line
    from app.export.script import blocks

    name = speaker or one_line
    return [
        (
            block.name,
            [(name(ln.speaker), tuple(one_line(v.text) for v in ln.variants), ln.id)
             for ln in block.lines],
            [(one_line(option.text), option.target) for option in block.options],
        )
        for block in blocks(dialogue)
    ]  # fmt: skip


def _unescape_backslashes(text: str, special: str) -> str:
    """Undo backslash escapes; an unescaped special character means markup got through."""
    out, index = [], 0
    while index < len(text):
        char = text[index]
        if char == "\\":
            assert index + 1 < len(text), f"dangling backslash in {text!r}"
            out.append(text[index + 1])
            index += 2
            continue
        assert char not in special, f"unescaped {char!r} in {text!r}"
        out.append(char)
        index += 1
    return "".join(out)


def read_yarn(source: str) -> Read:
    """Yarn Spinner's structure, read strictly: nodes, `Name: text #line:id` lines, `=>` groups
    (ids `X`, `X_1`, …), `->` options each followed by one `<<jump>>` to an existing node."""
    import re

    special = "\\{}<>[]#/"
    tagged = re.compile(
        r"^(?P<body>.*?) #line:(?P<id>\w+)(?: #emotion:[\w.-]+)?(?: #action:[\w.-]+)?$"
    )
    nodes: Read = []
    rows = iter(source.split("\n"))
    for row in rows:
        if row == "":
            assert next(rows, None) is None, "only the file's end may be empty"
            break
        assert row.startswith("title: "), row
        title = row[7:]
        assert next(rows) == "---"
        said: list[Said] = []
        offered: list[Offered] = []
        in_group = False
        for row in rows:
            if row == "===":
                break
            if row.startswith("-> "):
                match = tagged.match(row[3:])
                text = match.group("body") if match else row[3:]
                jump = re.fullmatch(r"    <<jump (\w+)>>", next(rows))
                assert jump, row
                offered.append((_unescape_backslashes(text, special), jump.group(1)))
                continue
            group = row.startswith("=> ")
            match = tagged.match(row[3:] if group else row)
            assert match, row
            speaker, colon, text = match.group("body").partition(": ")
            assert colon and re.fullmatch(r"\w+", speaker), row
            text = _unescape_backslashes(text, special)
            if group and in_group:
                who, texts, ident = said[-1]
                assert match.group("id") == f"{ident}_{len(texts)}", row
                said[-1] = (who, (*texts, text), ident)
            else:
                said.append((speaker, (text,), match.group("id")))
            in_group = group
        nodes.append((title, said, offered))
    titles = {name for name, _, _ in nodes}
    assert all(target in titles for _, _, opts in nodes for _, target in opts)
    return nodes
