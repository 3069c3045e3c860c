"""Dialogue export test helpers: chat trees built in a real store, hostile lines, and the
formats' own parsers from npm (inkjs, extwee); the readers are in `dialogue_readers`."""

from __future__ import annotations

import fcntl
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
    "\"quoted\" 'single' \\ backslash // comment /* block */ <> glue",
    ':: Evil [tag] {"position":"1,1"}\n=== knot ===\n===\n---\ntitle: Evil',
    "=> END\n% variant\n- option => Evil\n~ Evil\n<<set $x to 1>>\n$> mutation",
    'menu:\n    "Pick":\n        jump evil\nlabel evil:\n$ renpy.quit()',
    "[[Evil]] [[a|Evil]] [[Evil<-b]] <<print 1>> (set: $x to 1) {$x} [wait=9] [if x] [#bad]",
    "TODO: note\nINCLUDE evil.ink\nVAR x = 1\nCONST y = 2\n-> DONE <- thread\n^caret",
    "C:\\new\\n \\[x\\] a\\:b \\if \\- \\{y\\} \\u2060 %s %% $x",
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
    npc = {"emotion": "wary", "action": {"name": "cross_arms", "args": {"firmly": True}}}
    ids["no"] = store.add_message(
        chat.id, "assistant", "Not in my shop.", name="Brenna", meta={"npc": npc}
    ).id
    ids["chat"] = chat.id
    return ids


def hostile_chat(store: ChatStore) -> int:
    """Every hostile line as an NPC line, a swipe, a player line and a fork option; the speakers'
    names are hostile too (one reads as a keyword in some formats)."""
    chat = store.create_chat("evil", user_name='Ash"] -> END', title="[[Evil]] <<jump x>>")
    top = store.add_message(chat.id, "assistant", HOSTILE[0], name="Br:enna [x] {{y}}")
    for text in HOSTILE[1:]:
        store.add_message(chat.id, "assistant", text, parent_id=top.parent_id, name=top.name)
    previous = top.id
    for text in HOSTILE:
        said = store.add_message(chat.id, "user", text, parent_id=previous)
        previous = store.add_message(chat.id, "assistant", text, name=top.name).id
        store.add_message(chat.id, "user", "other way", parent_id=said.parent_id)
    store.add_message(chat.id, "assistant", "A speaker named like a keyword.", name="else if")
    return chat.id


def npm_modules() -> Path:
    """node_modules holding inkjs and extwee: installed once with npm (network needed the first
    time only); without node or npm the parser tests fail saying so, never silently pass."""
    root = Path(os.environ.get("LOREWEAVER_NPM_CACHE", "/tmp/loreweaver-npm-cache"))
    modules = root / "node_modules"
    if not (shutil.which("node") and shutil.which("npm")):
        pytest.fail("the export parser tests need node and npm (to run inkjs and extwee)")
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".install.lock").open("w") as lock:  # pytest-xdist workers install it once
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not all(
            (modules / name.split("@")[0] / "package.json").exists() for name in NPM_PACKAGES
        ):
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
