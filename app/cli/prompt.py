"""`loreweaver prompt`: the exact text the model would receive, for checking a format by eye."""

from __future__ import annotations

import argparse
import sys

from app.cli.common import add_character_arg, add_model_flags


def configure(parser: argparse.ArgumentParser) -> None:
    add_character_arg(parser)
    add_model_flags(parser)
    parser.add_argument("--say", metavar="TEXT", help="a user line to end the prompt with")


def run(args: argparse.Namespace) -> int:
    from app.home import home
    from app.session import ChatSession, resolve_setup
    from app.settings import load_settings

    where = home()
    settings = load_settings(where)
    sheet, info, fmt = resolve_setup(
        where, settings, character=args.character, model=args.model, template=args.template
    )
    user = args.user or settings.user_name
    from app.engine.llamacpp import load_engine

    engine = load_engine(info, n_threads=settings.n_threads, n_ctx_cap=settings.n_ctx)
    try:
        session = ChatSession(sheet, fmt, engine, user=user, user_description=settings.user_description)
        text = session.prompt(args.say)
        sys.stdout.write(text)
        sys.stdout.flush()
        sys.stderr.write(
            f"\n[{engine.count_tokens(text)} tokens, format {fmt.id}, model {info.id}]\n"
        )
    finally:
        engine.close()
    return 0
