"""`loreweaver models`: every model Loreweaver can find, with what its header says, and the
remote models added with `models add-remote` (`app.cli.models_remote`)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from app.cli import models_adapters, models_remote
from app.text import safe_line

if TYPE_CHECKING:
    from app.models import RemoteModel


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print a JSON array instead of a table")
    parser.add_argument(
        "--model",
        "-m",
        action="append",
        default=[],
        metavar="PATH",
        help="also list this GGUF file",
    )
    sub = parser.add_subparsers(dest="action", metavar="ACTION", parser_class=type(parser))
    models_remote.configure(sub)
    models_adapters.configure(sub)


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} B"


def run(args: argparse.Namespace) -> int:
    from app.engine.adapters import Adapter, label
    from app.home import home
    from app.models import discover
    from app.prompts.formats import format_note
    from app.settings import load_settings

    if args.action == "adapters":
        return models_adapters.run(args)
    if args.action is not None:
        return models_remote.run(args)
    entries = load_settings(home()).model_adapters
    remotes = models_remote.rows(home())
    models = discover(home(), [Path(p) for p in args.model])
    notes = {m.path: format_note(m) for m in models}
    if args.json:
        rows = [
            {
                "id": m.id,
                "name": m.name,
                "path": str(m.path),
                "source": m.source,
                "architecture": m.architecture,
                "size_label": m.size_label,
                "quantization": m.quantization,
                "file_size": m.file_size,
                "context_length": m.context_length,
                "family": m.family,
                "has_chat_template": m.chat_template is not None,
                "bos_token": m.bos_token,
                "eos_token": m.eos_token,
                "add_bos": m.add_bos,
                "memory": m.memory,
                "adapter_for": m.adapter_for,
                "usable": m.usable,
                "problem": m.problem,
                "format_note": notes[m.path] or None,
                "adapters": [ref.model_dump() for ref in entries.get(m.id, [])],
            }
            for m in models
        ]
        rows += [models_remote.json_row(remote, status) for remote, status in remotes]
        json.dump(rows, sys.stdout, indent=2)  # ASCII: every control character is a \u escape
        sys.stdout.write("\n")
        return 0
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="Models", title_justify="left")
    columns = ["id", "name", "arch", "size", "quant", "file", "context", "format", "status"]
    if entries:  # adapters named on a model (`models adapters`), applied under every character
        columns.append("LoRA")
    for column in columns:
        table.add_column(column, overflow="fold")
    for m in models:
        template = f"gguf ({m.family})" if m.chat_template else (m.family or "unknown")
        if notes[m.path]:
            template = "see note"
        arch = m.architecture or "-"
        if m.memory != "attention":  # its state is reused through snapshots (app.engine.recurrent)
            arch += f" ({m.memory})"
        if m.adapter_for is not None:
            status = f"[yellow]LoRA adapter for {escape(safe_line(m.adapter_for))}[/]"
        elif m.usable:
            status = "[green]usable[/]"
        else:
            status = f"[red]unusable: {escape(safe_line(m.problem or ''))}[/]"
        row = [
            escape(safe_line(m.id)),
            escape(safe_line(m.name)),
            escape(safe_line(arch)),
            escape(safe_line(m.size_label or "-")),
            escape(safe_line(m.quantization or "-")),
            _size(m.file_size),
            str(m.context_length or "-"),
            template if m.usable else "-",
            status,
        ]
        if entries:
            named = [Adapter(Path(ref.file), ref.scale) for ref in entries.get(m.id, [])]
            row.append(escape(safe_line(label(named))) if named else "-")
        table.add_row(*row)
    console = Console()
    console.print(table)
    if remotes:
        console.print(_remote_table(remotes))
    for note in filter(None, notes.values()):
        console.print(f"note: {escape(note)}")
    return 0


def _remote_table(remotes: list[tuple[RemoteModel, models_remote.Status]]) -> object:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="Remote models", title_justify="left")
    for column in ("id", "api", "base url", "status"):
        table.add_column(column, overflow="fold")
    for remote, status in remotes:
        line = escape(safe_line(status.line()))
        table.add_row(
            escape(remote.name),
            remote.api,
            escape(safe_line(remote.base_url)),
            f"[green]{line}[/]" if status.reachable else f"[red]{line}[/]",
        )
    return table
