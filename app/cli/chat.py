"""`loreweaver chat`: talk to a character in the plain terminal, or script it through stdin.

Interactive when stdin is a terminal (Rich prompt, streamed reply, Ctrl-C stops the reply and
keeps what was said); otherwise one user line per turn is read and each reply printed, so the
command can sit in a pipe. `--say` does a single turn.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

from app.cli.common import add_character_arg, add_model_flags

if TYPE_CHECKING:
    from rich.console import Console


def configure(parser: argparse.ArgumentParser) -> None:
    add_character_arg(parser)
    add_model_flags(parser)
    parser.add_argument("--seed", type=int, metavar="N", help="sampling seed (same seed, same reply)")
    parser.add_argument("--max-tokens", type=int, metavar="N", help="longest reply, in tokens")
    parser.add_argument("--say", metavar="TEXT", help="send one line, print the reply, exit")
    parser.add_argument(
        "--resume",
        nargs="?",
        const=True,
        type=int,
        metavar="CHAT_ID",
        help="continue a saved chat: the character's latest, or the one with this id",
    )


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.markup import escape

    from app.errors import LoreweaverError
    from app.home import home
    from app.memory.store import ChatStore
    from app.session import open_session, sampling_from
    from app.settings import load_settings

    if args.max_tokens is not None and args.max_tokens < 1:
        raise LoreweaverError(f"--max-tokens must be at least 1, got {args.max_tokens}")
    where = home().ensure()
    settings = load_settings(where)
    sampling = sampling_from(settings, seed=args.seed, max_tokens=args.max_tokens)
    store = ChatStore.open(where)
    try:
        session = open_session(
            where,
            settings,
            character=args.character,
            model=args.model,
            template=args.template,
            user=args.user,
            store=store,
            resume=args.resume,
        )
    except BaseException:
        store.close()
        raise
    out = Console(highlight=False, soft_wrap=True)
    interactive = args.say is None and sys.stdin.isatty()
    name = f"[bold cyan]{escape(session.sheet.name)}[/]: "
    try:
        if interactive:
            assert session.chat is not None
            out.print(f"[dim]chat {session.chat.id} with {escape(session.sheet.name)}[/]")
            for message in session.history:
                speaker = name if message.role == "assistant" else f"[bold green]{escape(session.user)}[/]: "
                out.print(speaker, end="")
                out.out(message.content)
        for line in _lines(args.say, interactive, out, session.user):
            reply = session.send(line, sampling)
            if interactive:
                out.print(name, end="")
            try:
                for piece in reply:
                    out.out(piece, end="")
                    out.file.flush()
            except KeyboardInterrupt:
                reply.cancel()
                out.print(" [dim](stopped)[/]", end="")
            finally:
                reply.finish()
            out.out("")
    finally:
        session.engine.close()
        store.close()
    return 0


def _lines(say: str | None, interactive: bool, out: Console, user: str) -> Iterator[str]:
    """The user's turns: one `--say`, prompts on a terminal, or stdin lines in a pipe."""
    if say is not None:
        yield say
        return
    if not interactive:
        for raw in sys.stdin:
            line = raw.strip()
            if line:
                yield line
        return
    from rich.markup import escape

    while True:
        try:
            line = out.input(f"[bold green]{escape(user)}[/]> ").strip()
        except (EOFError, KeyboardInterrupt):
            out.print()
            return
        if line in ("/quit", "/exit"):
            return
        if line:
            yield line
