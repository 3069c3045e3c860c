"""`loreweaver run SCENE.yaml -o OUT_DIR`: a scene script generated headless into a stored chat
tree and its dialogue exports, with a progress bar on stderr (only on a terminal)."""

from __future__ import annotations

import argparse
from pathlib import Path

from app.text import safe_line


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scene", type=Path, metavar="SCENE.yaml", help="the scene script")
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        metavar="OUT_DIR",
        help="folder for the exports (created if missing)",
    )
    parser.add_argument(
        "--format",
        dest="forms",
        default="all",
        metavar="FORMATS",
        help="comma-separated: json, csv, yarn, ink, renpy, twee, godot, "
        "markdown, or all (default)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="finish the stored run of this scene: complete lines are kept",
    )
    parser.add_argument(
        "--parallel",
        type=int,
        default=1,
        metavar="N",
        help="generate up to N independent lines at once (a server model)",
    )
    parser.add_argument("--model", help="the model (default: the script's, else your setting)")


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from app.home import home
    from app.scenes.run import parse_formats, run_scene
    from app.settings import load_settings

    where = home()
    forms = parse_formats(args.forms)
    console = Console(stderr=True)
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        disable=not console.is_terminal,
        transient=True,
    )
    task = progress.add_task("scene", total=None)
    with progress:
        result = run_scene(
            where,
            load_settings(where),
            args.scene,
            args.output,
            forms=forms,
            resume=args.resume,
            parallel=args.parallel,
            model=args.model,
            on_start=lambda total: progress.update(task, total=total),
            on_line=lambda: progress.advance(task),
            note=lambda text: console.print(safe_line(text), highlight=False, markup=False),
        )
    if result.flagged:
        console.print(
            f"{result.flagged} line(s) break a rule after every attempt: kept the best, "
            "flagged in their metadata (scene.flags)",
            highlight=False,
            markup=False,
        )
    written = ", ".join(safe_line(str(path)) for path in result.files)
    print(f"chat {result.chat_id}: {result.lines} lines; wrote {written}")
    return 0
