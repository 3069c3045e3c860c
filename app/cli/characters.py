"""`loreweaver characters`: list, show, validate, create, import and export characters."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from app.cli.common import text_arg
from app.text import safe_line, safe_text


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = sub.add_parser("list", help="every character: yours and the samples")
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    show = sub.add_parser("show", help="one character's sheet as YAML")
    show.add_argument("character", metavar="ID")
    validate = sub.add_parser(
        "validate",
        help="check sheets, cards (PNG, CHARX, JSON) or lorebook files (default: all characters)",
    )
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
    test = sub.add_parser(
        "lore-test", help="which lorebook entries fire for a text, and why (and which do not)"
    )
    test.add_argument("character", metavar="CHARACTER", help="a character id or sheet path")
    test.add_argument("text", metavar="TEXT", type=text_arg, help="the text to scan")
    test.add_argument("--json", action="store_true", help="print a JSON report")
    test.add_argument("--user", "-u", metavar="NAME", type=text_arg, help="your name ({{user}})")
    test.add_argument("--model", "-m", metavar="M", help="count tokens with this model")


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
    if args.action == "lore-test":
        from app.cli.lore_test import lore_test

        return lore_test(args)
    return _validate(where, [Path(p) for p in args.paths])


def _import(where, path: Path, as_id: str | None) -> int:  # type: ignore[no-untyped-def]
    from app.sheets.transfer import import_file

    result = import_file(where, path, as_id=as_id)
    if result.already_there:
        where_from = safe_line(str(path))
        sys.stdout.write(f"{where_from}: already in your library as {result.kind} {result.id!r}\n")
    else:
        sys.stdout.write(f"imported {result.kind} to {safe_line(str(result.path))}\n")
    sys.stdout.write(f"{safe_line(result.id)}\n")
    return 0


def _new(where, char_id: str, name: str | None) -> int:  # type: ignore[no-untyped-def]
    from app.sheets.catalog import new_character

    entry = new_character(where, char_id, name)
    sys.stdout.write(f"created {entry.path}\n")
    return 0


def _export(where, ref: str, fmt: str, out: Path) -> int:  # type: ignore[no-untyped-def]
    from app.sheets.transfer import export_character

    written = export_character(where, ref, fmt, out)
    sys.stdout.write(f"{safe_line(str(written))}\n")
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
        rows.append(
            {
                "id": entry.id,
                "name": name,
                "path": str(entry.path),
                "sample": entry.sample,
                "problem": problem,
            }
        )
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
        failed = row["problem"] is not None
        name = escape(safe_line(str(row["problem"] if failed else row["name"])))
        table.add_row(
            escape(safe_line(str(row["id"]))),
            f"[red]{name}[/]" if failed else name,
            source,
            escape(safe_line(str(row["path"]))),
        )
    Console().print(table)
    return 0


def _show(where, ref: str) -> int:  # type: ignore[no-untyped-def]
    import yaml

    from app.sheets import library

    _, sheet = library.load(where, ref)
    text = yaml.safe_dump(
        sheet.model_dump(mode="json", exclude_defaults=True),
        sort_keys=False,
        allow_unicode=True,
        width=100,
    )
    sys.stdout.write(safe_text(text))
    return 0


def _validate(where, paths: list[Path]) -> int:  # type: ignore[no-untyped-def]
    """Sheets by id or file, and cards (PNG, CHARX, JSON V1/V2/V3) or lorebooks by file: each
    read as `import` reads it, nothing stored."""
    from app.errors import LoreweaverError
    from app.sheets import library
    from app.sheets.lorebook import Lorebook
    from app.sheets.transfer import read_file

    targets = paths or [entry.path for entry in library.entries(where)]
    failed = 0
    for path in targets:
        try:
            if path.suffix.lower() in library.SHEET_SUFFIXES:
                problems = _lore_problems(where, path, library.load_sheet(path))
            else:
                _, read = read_file(path)
                problems = (
                    _book_problems(path, read, "")
                    if isinstance(read, Lorebook)
                    else _lore_problems(where, path, read)
                )
        except LoreweaverError as exc:
            problems = [str(exc)]
        for problem in problems:
            sys.stderr.write(f"loreweaver: error: {safe_line(problem)}\n")
        failed += bool(problems)
        if not problems:
            sys.stdout.write(f"ok {safe_line(str(path))}\n")
    return 1 if failed else 0


def _book_problems(file: Path, book, char: str) -> list[str]:  # type: ignore[no-untyped-def]
    from app.memory.lore import book_problems

    return [
        f"{file}: entry {index + 1} {title!r}: {problem}"
        for index, title, problem in book_problems(book, char=char)
    ]


def _lore_problems(where, path: Path, sheet) -> list[str]:  # type: ignore[no-untyped-def]
    """One line per lorebook key that cannot be used (a bad regex), naming file, entry, key:
    the sheet's own book, then the world books it names."""
    from app.sheets import library

    books = [(path, sheet.character_book)] if sheet.character_book is not None else []
    for book_id in sheet.world:
        book_path = library.world_book_path(where, sheet, book_id)
        books.append((book_path, library.load_lorebook(book_path)))
    return [problem for file, book in books for problem in _book_problems(file, book, sheet.name)]
