"""Hostile tree commands on a group scene's stdin: swipes, edits, deletes and branches at every
point (an empty scene, a single line, after deletes), with edit texts of many shapes.

Generated as commands × edit shapes × scene states, piped into one real `chat A B` process
under the harness's limits: it must survive (exit 0, no traceback), answer each refused command
with one error line, and keep what it accepted. Per-class counts are printed for the report.
"""

from __future__ import annotations

import itertools
from collections import Counter

from hostile.harness import assert_survived, run_limited

from app.home import Home
from app.memory.store import ChatStore

MOVES = ["/left", "/right", "/delete", "/branch", "/edit", "/regen"]
TEXTS = ["", " ", "\t", "x" * 5000, "\u202eevil", "\x1b[2J", "名前", "//not a command", "{{user}}"]


def _script() -> tuple[str, Counter[str]]:
    counts: Counter[str] = Counter()
    lines: list[str] = []
    # an empty scene: every move is refused (nothing to swipe, edit, delete, branch or retake)
    for move in MOVES:
        lines.append(move)
        counts["on empty scene"] += 1
    lines.append("@brenna Evening.")  # two lines now
    for move, text in itertools.product(["/edit"], TEXTS):
        lines.append(f"{move} {text}".rstrip())
        counts["edit shapes"] += 1
    for move in ["/left", "/left", "/right", "/right", "/branch", "/delete", "/delete", "/delete"]:
        lines.append(move)  # walks off both ends, then deletes past the start
        counts["walks and deletes"] += 1
    for move in MOVES[:-1]:  # emptied again
        lines.append(move)
        counts["on emptied scene"] += 1
    return "\n".join(lines) + "\n", counts


def test_tree_commands_at_every_point_survive_with_one_line_per_refusal(lw_home: Home) -> None:
    script, counts = _script()
    outcome = run_limited(
        "chat", "brenna", "old_tam", "--max-tokens", "2", "--seed", "1", stdin=script, timeout=300
    )
    assert_survived(outcome)
    assert outcome.returncode == 0
    errors = outcome.error_lines
    assert all(line.startswith("loreweaver: error: ") for line in errors), errors
    assert any("empty" in line for line in errors)  # refused where nothing is there yet
    store = ChatStore.open(lw_home)
    chats = store.list_chats()
    assert len(chats) == 2  # the scene and the one branch that had a line to start from
    edited = [m for c in chats for m in store.active_path(c.id)]
    assert all(m.content.strip() for m in edited)  # no blank line was ever kept
    store.close()
    print(f"group tree commands: {dict(counts)}, refused: {len(errors)}")
