"""The `loreweaver` command: a thin argparse layer over the domain.

Sub-command modules are imported only when chosen, and none of them imports the engine at
module level, so `--help` and `--version` answer without loading llama.cpp.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings
from collections.abc import Sequence

from app import __version__
from app.errors import LoreweaverError
from app.text import safe_line
from app.untrusted import InputWarning

# name → (module under app.cli, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "chat": ("chat", "chat with a character in the plain terminal (scriptable through stdin)"),
    "prompt": ("prompt", "print the exact prompt that would be sent to the model"),
    "characters": ("characters", "list, show, validate, create, import and export characters"),
    "models": ("models", "list the models Loreweaver can use, with their metadata"),
    "bench": ("bench", "measure streaming speed against raw llama-cpp-python"),
    "personas": ("personas", "the personas you play: list, add, remove, default"),
    "presets": ("presets", "sampler presets, built in and your own: list, save, use, remove"),
    "chats": ("chats", "list, show, search, rename, bookmark, export, import, delete chats"),
    "dataset": ("dataset", "build fine-tuning datasets from characters' saved chats"),
    "export": ("export", "a chat's whole tree as a dialogue file (Yarn, Ink, Ren'Py, Twee, …)"),
    "lorebooks": ("lorebooks", "shared lorebooks: list, import, export (SillyTavern world info)"),
    "barks": ("barks", "short in-character one-liners per trigger (greet, alert, …), stored"),
    "run": ("run", "a scene script generated headless into a chat tree and its exports"),
}


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line and exit code 2, like every other error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {safe_line(message)} (see --help)\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="loreweaver",
        description="Offline role-play and NPC dialogue on local GGUF models. "
        "Without a sub-command, opens the terminal app.",
    )
    parser.add_argument("--version", action="version", version=f"loreweaver {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, (module, help_text) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        _load(module).configure(command)
    return parser


def _load(module: str):  # type: ignore[no-untyped-def]
    return importlib.import_module(f"app.cli.{module}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    with warnings.catch_warnings(record=True) as repaired:
        warnings.simplefilter("always", InputWarning)
        try:
            if args.command is None:
                from app.tui.launch import run_tui

                return run_tui()
            code = int(_load(COMMANDS[args.command][0]).run(args) or 0)
        except LoreweaverError as exc:
            sys.stderr.write(f"loreweaver: error: {safe_line(str(exc))}\n")
            return 1
        except KeyboardInterrupt:
            sys.stderr.write("loreweaver: interrupted\n")
            return 130
        except MemoryError:
            # What was stored stays stored (the user's line is committed first); say it plainly.
            sys.stderr.write("loreweaver: error: out of memory\n")
            return 1
        except BrokenPipeError:
            return 0
        except OSError as exc:
            # The environment failed under us (disk full, read-only home…): still one line.
            where = f"{exc.filename}: " if exc.filename else ""
            sys.stderr.write(f"loreweaver: error: {safe_line(where + str(exc.strerror or exc))}\n")
            return 1
    # Repairs made while reading are told after a success (a failure's one line stays alone).
    for text in dict.fromkeys(str(w.message) for w in repaired if w.category is InputWarning):
        sys.stderr.write(f"loreweaver: warning: {safe_line(text)}\n")
    for other in (w for w in repaired if w.category is not InputWarning):
        warnings.showwarning(other.message, other.category, other.filename, other.lineno)
    return code
