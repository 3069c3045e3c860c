"""`loreweaver chat`: talk to a character in the plain terminal, or script it through stdin.

Interactive when stdin is a terminal (Rich prompt, streamed reply, Ctrl-C stops the reply and
keeps what was said); otherwise one user line per turn is read and each reply printed, so the
command can sit in a pipe. `--say` does a single turn. A line starting with `/` is a command on
the chat (the same actions as the terminal app: regenerate, swipe, continue, edit, delete,
branch, impersonate, persona); `//` sends a line that starts with `/`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

from app.cli.common import add_character_arg, add_model_flags

if TYPE_CHECKING:
    from rich.console import Console

    from app.engine.base import Sampling
    from app.reply import Reply
    from app.session import ChatSession

CHAT_COMMANDS = {
    "/regen": "a new reply to your last line, kept as another swipe",
    "/continue": "more of the last reply",
    "/left": "the previous swipe of the last reply",
    "/right": "the next swipe of the last reply",
    "/edit TEXT": "replace the last message's text",
    "/delete": "delete the last message",
    "/branch": "start a new chat from here",
    "/impersonate": "the model drafts your next line (printed, not sent)",
    "/persona NAME [| DESCRIPTION]": "who you are in this chat",
    "/help": "this list",
    "/quit": "leave",
}


def configure(parser: argparse.ArgumentParser) -> None:
    add_character_arg(parser)
    add_model_flags(parser)
    parser.add_argument(
        "--seed", type=int, metavar="N", help="sampling seed (same seed, same reply)"
    )
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
    from app.session import SHOWN_PAGE
    from app.session_start import open_session, sampling_from
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
            you = f"[bold green]{escape(session.user)}[/]: "
            start = max(len(session.history) - SHOWN_PAGE, 0)
            if start:
                out.print(f"[dim]… {start:,} earlier messages (see `loreweaver chats show`)[/]")
            for message, _ in session.page(start):
                out.print(name if message.role == "assistant" else you, end="")
                out.out(message.content)
        for line in _lines(args.say, interactive, out, session.user):
            if line.startswith("/") and not line.startswith("//"):
                try:
                    reply = _command(line, session, sampling, out)
                except LoreweaverError as exc:
                    sys.stderr.write(f"loreweaver: error: {exc}\n")
                    continue
                if reply is None:
                    continue
            else:
                reply = session.send(line.removeprefix("/"), sampling)
            if interactive:
                out.print(name, end="")
            _stream(reply, out)
    finally:
        session.close()
        session.engine.close()
        store.close()
    return 0


def _stream(reply: Reply, out: Console) -> None:
    """Print a reply as it streams; Ctrl-C stops it and keeps what was said."""
    try:
        if reply.prefix:
            out.out(reply.prefix, end="")
        for piece in reply:
            out.out(piece, end="")
            out.file.flush()
    except KeyboardInterrupt:
        reply.cancel()
        out.print(" [dim](stopped)[/]", end="")
    finally:
        reply.finish()
    out.out("")


def _command(line: str, session: ChatSession, sampling: Sampling, out: Console) -> Reply | None:
    """Run one `/command`; a reply to stream comes back, other commands print their result."""
    from app.errors import LoreweaverError

    word, _, rest = line.partition(" ")
    rest = rest.strip()
    if word == "/regen":
        return session.regenerate(sampling)
    if word == "/continue":
        return session.continue_reply(sampling)
    if word in ("/left", "/right"):
        n, of = session.swipe(-1 if word == "/left" else 1)
        out.print(f"[dim]swipe {n}/{of}[/]")
        out.out(session.history[-1].content)
    elif word == "/edit":
        session.edit(-1, rest)
        out.print("[dim]edited[/]")
    elif word == "/delete":
        session.delete(-1)
        out.print(f"[dim]deleted; {len(session.history)} messages left[/]")
    elif word == "/branch":
        chat = session.branch(-1)
        out.print(f"[dim]now in chat {chat.id} (a branch)[/]")
    elif word == "/impersonate":
        draft = session.impersonate(sampling)
        for _ in draft:
            pass
        out.out(draft.text.strip())
    elif word == "/persona":
        name, _, description = rest.partition("|")
        session.set_persona(name, description)
        out.print(f"[dim]you are {session.user}[/]")
    elif word == "/help":
        for usage, meaning in CHAT_COMMANDS.items():
            out.print(f"{usage:<32} {meaning}", markup=False)
    else:
        raise LoreweaverError(f"unknown chat command {word!r} (try /help)")
    return None


def _lines(say: str | None, interactive: bool, out: Console, user: str) -> Iterator[str]:
    """The user's turns: one `--say`, prompts on a terminal, or stdin lines in a pipe."""
    if say is not None:
        yield say
        return
    if not interactive:
        for raw in sys.stdin:
            line = raw.strip()
            if line in ("/quit", "/exit"):
                return
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
