"""`loreweaver lorebooks`: the shared lorebooks (world books): list, import, export."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.text import safe_line


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    sub.add_parser("list", help="every shared lorebook: yours, then the samples'")
    imp = sub.add_parser(
        "import", help="import SillyTavern world info JSON, a V3 lorebook or a YAML book"
    )
    imp.add_argument("file", metavar="FILE")
    imp.add_argument("--as", dest="as_id", metavar="ID", help="store under this id")
    exp = sub.add_parser("export", help="export a lorebook as SillyTavern world info JSON")
    exp.add_argument("book", metavar="ID")
    exp.add_argument("-o", "--output", required=True, metavar="FILE")
    exp.add_argument(
        "--format",
        "-f",
        default="world-info",
        choices=["world-info", "v3"],
        help="world-info (SillyTavern's, the default) or v3 (a lorebook_v3)",
    )


def run(args: argparse.Namespace) -> int:
    from app.home import home
    from app.sheets.lorebook_files import export_lorebook, import_lorebook, list_lorebooks

    where = home()
    if args.action == "list":
        for book_id, path in list_lorebooks(where):
            sys.stdout.write(f"{safe_line(book_id)}\t{safe_line(str(path))}\n")
        return 0
    if args.action == "import":
        result = import_lorebook(where, Path(args.file), as_id=args.as_id)
        if result.already_there:
            sys.stdout.write(f"already in your library as lorebook {result.id!r}\n")
        else:
            sys.stdout.write(f"imported lorebook to {safe_line(str(result.path))}\n")
        sys.stdout.write(f"{safe_line(result.id)}\n")
        return 0
    written = export_lorebook(where, args.book, Path(args.output), args.format)
    sys.stdout.write(f"{safe_line(str(written))}\n")
    return 0
