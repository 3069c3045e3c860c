"""The localisation / voice-over table: Yarn's strings-table columns (`language, id, text, file,
node, lineNumber, lock, comment`) plus speaker and emotion, one row per line variant and option."""

from __future__ import annotations

import csv
import hashlib
import io

from app.export.graph import Dialogue
from app.export.yarn import render

COLUMNS = ("language", "id", "text", "file", "node", "lineNumber", "lock", "comment", "speaker",
           "emotion")  # fmt: skip


def _cell(text: str) -> str:
    """A cell a spreadsheet would run as a formula (leading `=`, `+`, `-`, `@`) gets a leading `'`
    (OWASP's CSV-injection advice): voice-over scripts are opened in spreadsheets."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def export(dialogue: Dialogue, *, language: str = "en", yarn_file: str | None = None) -> str:
    """`lock` is a hash of the line's text (as Yarn's), so a translator sees which lines changed."""
    space = dialogue.namespace
    file = yarn_file or (f"chat-{space}.yarn" if space.isdigit() else f"{space}.yarn")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in render(dialogue)[1]:
        lock = hashlib.sha256(row.text.encode()).hexdigest()[:8]
        writer.writerow(
            (language, f"line:{row.id}", _cell(row.text), file, row.node, row.line_number, lock,
             _cell(row.comment), _cell(row.speaker), _cell(row.emotion))
        )  # fmt: skip
    return buffer.getvalue()
