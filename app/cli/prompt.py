"""`loreweaver prompt`: the exact text the model would receive, and with `--explain`, why."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from app.cli.common import (
    add_character_arg,
    add_model_flags,
    add_note_flags,
    note_from_args,
    text_arg,
)
from app.text import safe_line, safe_text

if TYPE_CHECKING:
    from rich.table import Table

    from app.memory.assembly import Assembly
    from app.npc.structured import ReplyShape
    from app.session import ChatSession


def configure(parser: argparse.ArgumentParser) -> None:
    add_character_arg(parser, several=True)
    parser.add_argument("--scene", metavar="TEXT", help="group scene: where and what is happening")
    add_model_flags(parser)
    parser.add_argument(
        "--say", metavar="TEXT", type=text_arg, help="a user line to end the prompt with"
    )
    parser.add_argument(
        "--chat", type=int, metavar="CHAT_ID", help="build the prompt of this saved chat"
    )
    parser.add_argument(
        "--explain",
        action="store_true",
        help="print each section with its token count, what fired and what was cut, and why",
    )
    add_note_flags(parser)


def run(args: argparse.Namespace) -> int:
    from app.errors import LoreweaverError
    from app.prompts.formats import warm_up

    if len(args.character) > 1:
        from app.cli.group_prompt import run_group

        return run_group(args)
    args.character = args.character[0]
    if args.scene is not None:
        raise LoreweaverError("--scene is for group scenes (name several characters)")

    warm_up(args.template)  # the template renderer starts while the engine's modules import
    from app.engine.adapters import label as adapter_label
    from app.engine.loading import load_engine
    from app.home import home
    from app.memory.store import ChatStore
    from app.session_start import resolve_setup, start_session
    from app.settings import engine_threads, load_settings

    where = home()
    settings = load_settings(where)
    note = note_from_args(args)
    character_id, sheet, info, fmt = resolve_setup(
        where, settings, character=args.character, model=args.model, template=args.template
    )
    store = ChatStore.open(where.ensure()) if args.chat is not None else None
    try:
        engine = load_engine(info, **engine_threads(settings), n_ctx_cap=settings.n_ctx)
        try:
            session = start_session(
                engine,
                info,
                fmt,
                sheet,
                character_id,
                settings,
                user=args.user,
                store=store,
                resume=args.chat,
                home=where,
                summaries=False,
                persona=args.persona,
            )
            session.reserve = settings.sampling.max_tokens
            for notice in session.notices:
                sys.stderr.write(f"loreweaver: warning: {notice}\n")
            if note is not None:  # for this prompt only: `prompt` never changes a saved chat
                session.authors_note = note
            text = session.prompt(args.say)
            total = engine.count_tokens(text)
            model = info.id  # with the character's adapters, which shape every reply too
            if engine.adapters:
                model += f" + LoRA {adapter_label(engine.adapters)}"
            if args.explain:
                _explain(session, args.say, total, engine.n_ctx, fmt.id, info.id)
                if engine.adapters:  # each with where it was named: the model entry, the sheet
                    print(
                        safe_line(f"adapters: LoRA {adapter_label(engine.adapters, sources=True)}")
                    )
            else:
                sys.stdout.write(safe_text(text))
                sys.stdout.flush()
            format_note = session.fmt.note
            sys.stderr.write(f"\n[{total} tokens, format {fmt.id}, model {safe_line(model)}]\n")
            if format_note and not args.explain:  # `_explain` has said it already
                sys.stderr.write(f"note: {safe_line(format_note)}\n")
        finally:
            engine.close()
    finally:
        if store is not None:
            store.close()
    return 0


def _explain(
    session: ChatSession, say: str | None, total: int, n_ctx: int, fmt: str, model: str
) -> None:
    from rich.console import Console
    from rich.markup import escape

    from app.npc.structured import annotation_text, last_annotation, session_shape

    shape = session_shape(session)
    last = last_annotation(session) if shape is not None else None
    table = explain_table(
        f"Prompt for {safe_line(session.sheet.name)}: {total}/{n_ctx} "
        f"tokens (reply reserve {session.reserve}), format {fmt}, model {safe_line(model)}",
        session.assembly(say),
        shape,
        annotation_text(last) if last else "-",
    )
    console = Console(soft_wrap=False)
    console.print(table)
    if session.fmt.note:
        console.print(f"note: {escape(safe_line(session.fmt.note))}")


def explain_table(title: str, assembly: Assembly, shape: ReplyShape | None, last: str) -> Table:
    """Each section of a prompt with its token count and what went in and why; a structured
    reply's shape and the `last` reply's annotation when the sheet asks for one."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=escape(title), title_justify="left")
    table.add_column("section")
    table.add_column("tokens", justify="right")
    table.add_column("what and why", overflow="fold")
    for section in assembly.sections:
        table.add_row(
            escape(safe_line(section.name)),
            str(section.tokens),
            escape(safe_text("\n".join(section.lines))) or "-",
        )
    if shape is not None:  # the sheet asks for structured replies
        lines = [
            f"JSON reply: line, emotion ({', '.join(shape.config.emotion_list)})",
            f"actions: {', '.join(a.name for a in shape.actions) or 'none'}",
            f"grammar: {len(shape.grammar)} characters, reply at most {shape.max_tokens} tokens",
            f"last reply: {last}",
        ]
        table.add_row("structured reply", "-", escape(safe_text("\n".join(lines))))
    return table
