"""`loreweaver bench`: speed figures as ratios against a baseline measured in the same run.

Which benchmark runs is chosen by a flag taken from `app.bench.BENCHES`; the default one
(no flag) is the streaming comparison.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys


def configure(parser: argparse.ArgumentParser) -> None:
    from app.bench import BENCHES

    parser.add_argument("--model", "-m", metavar="M", help="model id, name or GGUF path")
    parser.add_argument("--runs", type=int, default=7, metavar="N", help="runs per side (median)")
    parser.add_argument("--max-tokens", type=int, default=200, metavar="N", help="tokens per reply")
    parser.add_argument(
        "--turns", type=int, metavar="N", help="turns of a scripted chat (--long-chat; default 300)"
    )
    parser.add_argument(
        "--ctx", type=int, metavar="N", help="context window (--long-chat; default 4096)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(bench=next(b.name for b in BENCHES if b.flag is None))
    flagged = [b for b in BENCHES if b.flag is not None]
    if flagged:  # argparse cannot print usage for an empty group
        choice = parser.add_mutually_exclusive_group()
        for bench in flagged:
            choice.add_argument(
                str(bench.flag),
                dest="bench",
                action="store_const",
                const=bench.name,
                help=bench.help,
            )


def run(args: argparse.Namespace) -> int:
    from app.bench import BENCHES, BenchOptions
    from app.engine.loading import resolve_model
    from app.errors import LoreweaverError
    from app.home import home
    from app.settings import load_settings

    if args.runs < 1 or args.max_tokens < 2:
        raise LoreweaverError("--runs must be ≥ 1 and --max-tokens ≥ 2")
    if args.turns is not None and not 1 <= args.turns <= 100_000:
        raise LoreweaverError(f"--turns must be between 1 and 100000, got {args.turns}")
    if args.ctx is not None and not 512 <= args.ctx <= 1_048_576:
        raise LoreweaverError(f"--ctx must be between 512 and 1048576, got {args.ctx}")
    where = home()
    settings = load_settings(where)
    info = resolve_model(where, args.model if args.model is not None else settings.model)
    bench = next(b for b in BENCHES if b.name == args.bench)
    module = importlib.import_module(bench.module)
    options = BenchOptions(
        runs=args.runs,
        max_tokens=args.max_tokens,
        n_threads=settings.n_threads,
        turns=args.turns,
        ctx=args.ctx,
    )
    report = module.run(info, options)
    if args.json:
        json.dump(report.as_dict(), sys.stdout)
        sys.stdout.write("\n")
        return 0
    from rich.console import Console

    Console().print(report.render())
    return 0
