"""`loreweaver barks`: short in-character one-liners for a trigger, stored with the character."""

from __future__ import annotations

import argparse
import csv
import json
import sys

from app.cli.common import add_model_flags, text_arg
from app.text import safe_line

FIELDS = (
    "text",
    "trigger",
    "seed",
    "max_chars",
    "temperature",
    "top_p",
    "top_k",
    "min_p",
    "repeat_penalty",
    "model",
    "template",
    "status",
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "character", metavar="CHARACTER", help="a character id or a sheet file path"
    )
    parser.add_argument(
        "--trigger",
        required=True,
        type=text_arg,
        metavar="TRIGGER",
        help="greet, farewell, alert, idle, injured, victory, or a situation in your words",
    )
    parser.add_argument("--count", "-n", type=int, default=5, metavar="N", help="how many barks")
    parser.add_argument(
        "--max-chars", type=int, default=80, metavar="N", help="longest bark (default 80)"
    )
    parser.add_argument("--seed", type=int, metavar="S", help="base seed: same seed, same set")
    parser.add_argument(
        "--parallel",
        type=int,
        default=1,
        metavar="N",
        help="ask a remote model's server for N barks at once (same set as one at a time)",
    )
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print the barks as JSON")
    out.add_argument("--csv", action="store_true", help="print the barks as CSV")
    add_model_flags(parser)


def run(args: argparse.Namespace) -> int:
    import secrets

    from app.engine.loading import load_engine
    from app.errors import LoreweaverError
    from app.home import home
    from app.npc.bark_store import load_barks, merged, save_barks
    from app.npc.barks import (
        MAX_COUNT,
        MAX_PARALLEL,
        SEED_RANGE,
        BarkJob,
        check_trigger,
        generate_barks,
    )
    from app.session_start import resolve_setup, sampling_from
    from app.settings import engine_threads, load_settings
    from app.speaker_adapters import speaker_adapters

    if not 8 <= args.max_chars <= 1000:
        raise LoreweaverError(f"--max-chars: give 8–1000, got {args.max_chars}")
    if not 1 <= args.count <= MAX_COUNT:
        raise LoreweaverError(f"--count: give 1–{MAX_COUNT}, got {args.count}")
    if args.seed is not None and not 0 <= args.seed < SEED_RANGE:
        raise LoreweaverError(f"--seed: give 0–{SEED_RANGE - 1}, got {args.seed}")
    if not 1 <= args.parallel <= MAX_PARALLEL:
        raise LoreweaverError(f"--parallel: give 1–{MAX_PARALLEL}, got {args.parallel}")
    trigger = check_trigger(args.trigger)
    where = home()
    settings = load_settings(where)
    character_id, sheet, info, fmt = resolve_setup(
        where, settings, character=args.character, model=args.model, template=args.template
    )
    stored = load_barks(where, character_id)  # a bad barks file fails before any generation
    seed = args.seed if args.seed is not None else secrets.randbelow(SEED_RANGE)
    sampling = sampling_from(settings, seed=seed, max_tokens=None)
    adapters = tuple(speaker_adapters(info, sheet, settings, where))
    job = BarkJob(sheet, fmt, trigger, args.max_chars, sampling, info.path.name, adapters=adapters)
    parallel = args.parallel
    if parallel > 1 and info.remote is None:
        sys.stderr.write("[--parallel is for a remote model's server: one bark at a time here]\n")
        parallel = 1
    engine = load_engine(info, **engine_threads(settings), n_ctx_cap=settings.n_ctx)
    try:
        kept = [b for b in stored if b.trigger == trigger and b.status == "kept"]
        barks = generate_barks(engine, job, args.count, seed, keep=kept, parallel=parallel)
    finally:
        engine.close()
    path = save_barks(where, character_id, merged(stored, trigger, barks))
    rows = [b.model_dump(mode="json") for b in barks]
    if args.json:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
    elif args.csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    else:
        for bark in barks:
            sys.stdout.write(f"{safe_line(bark.text)}\n")
    sys.stderr.write(f"[{len(barks)} barks, base seed {seed}, saved in {path}]\n")
    return 0
