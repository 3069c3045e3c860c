"""`loreweaver dataset build`: characters' saved chats as a fine-tuning dataset (`app.dataset`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.cli.common import add_model_flags
from app.text import safe_line


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    build = actions.add_parser(
        "build",
        help="write the active paths of characters' chats as training examples, with a "
        "validation split and a manifest beside the file",
    )
    build.add_argument("characters", nargs="+", metavar="CHARACTER", help="character ids")
    build.add_argument(
        "-o", "--output", type=Path, required=True, metavar="OUT.jsonl", help="training file"
    )
    build.add_argument(
        "--format",
        dest="form",
        choices=("chatml-messages", "sharegpt", "text"),
        default="chatml-messages",
        help="chatml-messages (OpenAI, TRL; default), sharegpt (LLaMA-Factory, axolotl) or "
        "text (rendered in the model's prompt format)",
    )
    build.add_argument(
        "--only-edited",
        action="store_true",
        help="only chats with a reply edited by hand, each up to its last edited reply",
    )
    build.add_argument(
        "--split",
        type=float,
        default=0.1,
        metavar="F",
        help="share of examples for validation, written to OUT.val.jsonl (default 0.1)",
    )
    add_model_flags(build)


def run(args: argparse.Namespace) -> int:
    from app.dataset.build import DatasetRequest, build_dataset
    from app.home import home
    from app.settings import load_settings

    where = home()
    result = build_dataset(
        where,
        load_settings(where),
        DatasetRequest(
            characters=args.characters,
            output=args.output,
            form=args.form,
            only_edited=args.only_edited,
            split=args.split,
            model=args.model,
            template=args.template,
        ),
    )
    sys.stdout.write(
        f"{result.train} training and {result.validation} validation examples "
        f"({result.duplicates} duplicates dropped, {result.skipped} chats skipped)\n"
    )
    for name, path in result.files.items():
        sys.stdout.write(f"{name}: {safe_line(str(path))}\n")
    return 0
