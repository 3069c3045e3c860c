"""`loreweaver characters`: list, show, validate, create, import and export characters."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = sub.add_parser("list", help="every character: yours and the samples")
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    show = sub.add_parser("show", help="one character's sheet as YAML")
    show.add_argument("character", metavar="ID")
    validate = sub.add_parser("validate", help="check sheet files (default: all characters)")
    validate.add_argument("paths", nargs="*", metavar="PATH")
    new = sub.add_parser("new", help="write a blank sheet into your library, to fill in")
    new.add_argument("character", metavar="ID", help="its id: a-z, 0-9 and '_'")
    new.add_argument("--name", help="its display name (default: the id in words)")
    imp = sub.add_parser(
        "import", help="import a card (V1/V2/V3 JSON, PNG, CHARX), a lorebook, or a YAML sheet"
    )
    imp.add_argument("file", metavar="FILE")
    imp.add_argument("--as", dest="as_id", metavar="NAME", help="store under this id")
    exp = sub.add_parser("export", help="export a character as a card or sheet")
    exp.add_argument("character", metavar="ID")
    exp.add_argument("--format", "-f", required=True, choices=["v2", "v3", "png", "charx", "yaml"])
    exp.add_argument("-o", "--output", required=True, metavar="OUT")


def run(args: argparse.Namespace) -> int:
    from app.home import home

    where = home()
    if args.action == "list":
        return _list(where, args.json)
    if args.action == "show":
        return _show(where, args.character)
    if args.action == "new":
        return _new(where, args.character, args.name)
    if args.action == "import":
        return _import(where, Path(args.file), args.as_id)
    if args.action == "export":
        return _export(where, args.character, args.format, Path(args.output))
    return _validate(where, [Path(p) for p in args.paths])


def _import(where, path: Path, as_id: str | None) -> int:  # type: ignore[no-untyped-def]
    from app.sheets.transfer import import_file

    result = import_file(where, path, as_id=as_id)
    if result.already_there:
        sys.stdout.write(f"{path}: already in your library as {result.kind} {result.id!r}\n")
    else:
        sys.stdout.write(f"imported {result.kind} to {result.path}\n")
    sys.stdout.write(f"{result.id}\n")
    return 0


def _new(where, char_id: str, name: str | None) -> int:  # type: ignore[no-untyped-def]
    from app.sheets.catalog import new_character

    entry = new_character(where, char_id, name)
    sys.stdout.write(f"created {entry.path}\n")
    return 0


def _export(where, ref: str, fmt: str, out: Path) -> int:  # type: ignore[no-untyped-def]
    from app.sheets.transfer import export_character

    written = export_character(where, ref, fmt, out)
    sys.stdout.write(f"{written}\n")
    return 0


def _list(where, as_json: bool) -> int:  # type: ignore[no-untyped-def]
    from app.errors import LoreweaverError
    from app.sheets import library

    rows = []
    for entry in library.entries(where):
        try:
            sheet = library.load_sheet(entry.path)
            name, problem = sheet.name, None
        except LoreweaverError as exc:
            name, problem = entry.id, str(exc)
        rows.append({"id": entry.id, "name": name, "path": str(entry.path),
                     "sample": entry.sample, "problem": problem})
    if as_json:
        json.dump(rows, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="Characters", title_justify="left")
    for column in ("id", "name", "source", "file"):
        table.add_column(column, overflow="fold")
    for row in rows:
        source = "sample" if row["sample"] else "yours"
        name = row["name"] if row["problem"] is None else f"[red]{row['problem']}[/]"
        table.add_row(escape(str(row["id"])), escape(str(name)) if row["problem"] is None else name,
                      source, escape(str(row["path"])))
    Console().print(table)
    return 0


def _show(where, ref: str) -> int:  # type: ignore[no-untyped-def]
    import yaml

    from app.sheets import library

    _, sheet = library.load(where, ref)
    yaml.safe_dump(sheet.model_dump(mode="json", exclude_defaults=True), sys.stdout,
                   sort_keys=False, allow_unicode=True, width=100)
    return 0


def _validate(where, paths: list[Path]) -> int:  # type: ignore[no-untyped-def]
    from app.errors import LoreweaverError
    from app.sheets import library

    targets = paths or [entry.path for entry in library.entries(where)]
    failed = 0
    for path in targets:
        try:
            library.load_sheet(path)
        except LoreweaverError as exc:
            failed += 1
            sys.stderr.write(f"loreweaver: error: {exc}\n")
        else:
            sys.stdout.write(f"ok {path}\n")
    return 1 if failed else 0
