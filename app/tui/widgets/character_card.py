"""One character in the library list: name, tags, the description's first line, sample or yours."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label, ListItem

from app.sheets.catalog import Summary
from app.text import safe_line


class CharacterCard(ListItem):
    def __init__(self, summary: Summary) -> None:
        kind = "sample" if summary.sample else "yours"
        super().__init__(name=summary.id, classes=f"card {kind}")
        self.summary = summary

    def compose(self) -> ComposeResult:
        summary = self.summary
        title = Text()
        title.append(safe_line(summary.name), style="bold")
        title.append(f"  {safe_line(summary.id)}", style="dim")
        with Horizontal(classes="card-head"):
            yield Label(title, classes="card-title")
            yield Label("sample" if summary.sample else "yours", classes="card-kind")
        if summary.error:
            yield Label(safe_line(summary.error), classes="card-error", markup=False)
            return
        tags = "  ".join(f"#{tag}" for tag in summary.tags) or "no tags"
        yield Label(safe_line(tags), classes="card-tags", markup=False)
        yield Label(
            safe_line(summary.blurb or "(no description)"), classes="card-blurb", markup=False
        )
