"""`loreweaver bench`: speed figures as ratios against a baseline measured in the same run."""

from __future__ import annotations

import argparse
import json
import sys


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", "-m", metavar="M", help="model id, name or GGUF path")
    parser.add_argument("--runs", type=int, default=7, metavar="N", help="runs per side (median)")
    parser.add_argument("--max-tokens", type=int, default=200, metavar="N", help="reply length")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    from app.bench.streaming import run_streaming
    from app.engine.registry import resolve_model
    from app.errors import LoreweaverError
    from app.home import home
    from app.settings import load_settings

    if args.runs < 1 or args.max_tokens < 2:
        raise LoreweaverError("--runs must be ≥ 1 and --max-tokens ≥ 2")
    where = home()
    settings = load_settings(where)
    info = resolve_model(where, args.model if args.model is not None else settings.model)
    result = run_streaming(info, runs=args.runs, max_tokens=args.max_tokens,
                           n_threads=settings.n_threads)
    if args.json:
        json.dump(result.as_dict(), sys.stdout)
        sys.stdout.write("\n")
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Streaming: {result.model}, {result.prompt_tokens}-token prompt, "
                  f"{result.completion_tokens} tokens, median of {result.runs}",
                  title_justify="left")
    for column in ("", "app", "raw llama-cpp-python", "app / raw"):
        table.add_column(column, justify="right")
    table.add_row("first token (s)", f"{result.app_first_token_s:.3f}",
                  f"{result.raw_first_token_s:.3f}",
                  f"{result.first_token_delta_ms:+.0f} ms (paired median)")
    table.add_row("tokens/s", f"{result.app_tokens_per_s:.1f}", f"{result.raw_tokens_per_s:.1f}",
                  f"{result.tokens_per_s_ratio:.3f}")
    Console().print(table)
    Console().print(f"peak RSS {result.peak_rss_mb:.0f} MB")
    return 0
