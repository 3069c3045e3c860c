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

from app.cli.common import (
    add_character_arg,
    add_model_flags,
    add_note_flags,
    note_from_args,
    text_arg,
)
from app.text import SafeStream, safe_line, safe_text

if TYPE_CHECKING:
    from rich.console import Console

    from app.engine.base import Sampling
    from app.errors import LoreweaverError
    from app.home import Home
    from app.reply import Reply
    from app.session import ChatSession

UNSAVED_LINES = "unsaved-lines.txt"
"""Where `chat` appends a line the chat database could not store."""

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
    "/state [NAME VALUE]": "the NPC's state and trust; with NAME VALUE, set one (trust:NAME)",
    "/note [TEXT]": "set the author's note's text (same placement); alone: show it",
    "/help": "this list",
    "/quit": "leave",
}


def configure(parser: argparse.ArgumentParser) -> None:
    from app.cli.group_chat import add_group_flags

    add_character_arg(parser, several=True)
    add_group_flags(parser)
    add_model_flags(parser)
    parser.add_argument(
        "--seed", type=int, metavar="N", help="sampling seed (same seed, same reply)"
    )
    parser.add_argument("--max-tokens", type=int, metavar="N", help="longest reply, in tokens")
    parser.add_argument(
        "--say", metavar="TEXT", type=text_arg, help="send one line, print the reply, exit"
    )
    parser.add_argument(
        "--resume",
        nargs="?",
        const=True,
        type=int,
        metavar="CHAT_ID",
        help="continue a saved chat: the character's latest, or the one with this id",
    )
    add_note_flags(parser)
    parser.add_argument(
        "--stop",
        action="append",
        metavar="TEXT",
        help="end replies at TEXT (repeatable; kept with the chat, beside the settings' stops)",
    )


def run(args: argparse.Namespace) -> int:
    if len(args.character) > 1:
        from app.cli.group_chat import run_group

        return run_group(args)
    args.character = args.character[0]
    from app.cli.group_chat import refuse_group_flags
    from app.prompts.formats import warm_up

    refuse_group_flags(args)
    warm_up(args.template)  # the template renderer starts while the rest imports
    from rich.console import Console
    from rich.markup import escape

    from app.errors import LoreweaverError
    from app.home import home
    from app.memory.store import ChatDatabaseError, ChatStore
    from app.session import SHOWN_PAGE
    from app.session_start import open_session, sampling_from
    from app.settings import load_settings

    if args.max_tokens is not None and args.max_tokens < 1:
        raise LoreweaverError(f"--max-tokens must be at least 1, got {args.max_tokens}")
    where = home().ensure()
    settings = load_settings(where)
    sampling = sampling_from(settings, seed=args.seed, max_tokens=args.max_tokens)
    note = note_from_args(args)
    try:
        store = ChatStore.open(where)
    except ChatDatabaseError as exc:
        raise _keeping(exc, where, args.say) from None
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
            persona=args.persona,
        )
    except ChatDatabaseError as exc:
        store.close()
        raise _keeping(exc, where, args.say) from None
    except BaseException:
        store.close()
        raise
    if session.fmt.note:
        sys.stderr.write(f"note: {safe_line(session.fmt.note)}\n")
    if note is not None:
        session.set_authors_note(note)
    for notice in session.notices:
        sys.stderr.write(f"loreweaver: warning: {safe_line(notice)}\n")
    if args.stop:
        session.set_stops(args.stop)
    out = Console(highlight=False, soft_wrap=True)
    interactive = args.say is None and sys.stdin.isatty()
    name = f"[bold cyan]{escape(safe_line(session.sheet.name))}[/]: "
    told = 0  # background failures already printed
    try:
        if interactive:
            which = f"chat {session.chat.id}" if session.chat is not None else "a new chat"
            out.print(f"[dim]{which} with {escape(safe_line(session.sheet.name))}[/]")
            you = f"[bold green]{escape(safe_line(session.user))}[/]: "
            start = max(len(session.history) - SHOWN_PAGE, 0)
            if start:
                out.print(f"[dim]… {start:,} earlier messages (see `loreweaver chats show`)[/]")
            for message, _ in session.page(start):
                out.print(name if message.role == "assistant" else you, end="")
                out.out(safe_text(message.content))
            failure = session.last_failure()
            if failure is not None:
                out.print(f"[dim](no reply to your last line: {escape(safe_line(failure))})[/]")
        for line in _lines(args.say, interactive, out, session.user):
            if line.startswith("/") and not line.startswith("//"):
                try:
                    reply = _command(line, session, sampling, out)
                except LoreweaverError as exc:
                    sys.stderr.write(f"loreweaver: error: {safe_line(str(exc))}\n")
                    continue
                if reply is None:
                    continue
            else:
                try:
                    reply = session.send(line.removeprefix("/"), sampling)
                except ChatDatabaseError as exc:
                    raise _keeping(exc, where, line.removeprefix("/")) from None
            if interactive:
                out.print(name, end="")
            _stream(reply, out)
            told = _warn_failures(session, told)
    finally:
        summariser = session.summariser
        session.close()
        if summariser is not None:
            _warn_failures(session, told, summariser.errors)
        session.engine.close()
        store.close()
    return 0


def _warn_failures(session: ChatSession, told: int, errors: list[str] | None = None) -> int:
    """Print the background summaries that failed since the first `told` (one warning line
    each, on stderr); how many are told now. `errors`: the summariser's, once it is closed."""
    if errors is None:
        errors = session.summariser.errors if session.summariser is not None else []
    fresh = errors[told:]
    for line in fresh:
        sys.stderr.write(f"loreweaver: warning: {safe_line(line)}\n")
    return told + len(fresh)


def _keeping(exc: Exception, where: Home, line: str | None) -> LoreweaverError:
    """The database's error, after the user's line is appended to UNSAVED_LINES in the home
    (when it can be): what the user typed is never lost with the database."""
    from datetime import datetime

    from app.errors import LoreweaverError

    if line is None:
        return LoreweaverError(str(exc))
    kept = where.root / UNSAVED_LINES
    try:
        with kept.open("a", encoding="utf-8") as handle:
            handle.write(f"{datetime.now().isoformat(timespec='seconds')}\t{line}\n")
    except OSError:
        return LoreweaverError(str(exc))
    return LoreweaverError(f"{exc} (your line was kept in {kept})")


def _stream(reply: Reply, out: Console) -> None:
    """Print a reply as it streams; Ctrl-C stops it and keeps what was said."""
    from app.npc.state import NPC_META
    from app.npc.structured import annotation_text, reply_annotations

    safe = SafeStream()
    try:
        if reply.prefix:
            out.out(safe.feed(reply.prefix), end="")
        for piece in reply:
            out.out(safe.feed(piece), end="")
            out.file.flush()
    except KeyboardInterrupt:
        reply.cancel()
        out.out(safe.flush(), end="")
        out.print(" [dim](stopped)[/]", end="")
    finally:
        reply.finish()
    out.out(safe.flush())
    note = reply_annotations(reply.generation).get(NPC_META)
    if note:  # a structured reply: its emotion, action and state changes as an annotation
        out.out(safe_line(f"  [{annotation_text(note)}]"), style="dim")


def _annotate(session: ChatSession, out: Console) -> None:
    """The shown reply's structured annotation (emotion, action, changes), if it has one."""
    from app.npc.structured import annotation_text, last_annotation

    note = last_annotation(session) if session.history[-1].role == "assistant" else None
    if note:
        out.out(safe_line(f"  [{annotation_text(note)}]"), style="dim")


def _command(line: str, session: ChatSession, sampling: Sampling, out: Console) -> Reply | None:
    """Run one `/command`; a reply to stream comes back, other commands print their result."""
    from rich.markup import escape

    from app.errors import LoreweaverError
    from app.memory.authors_note import AuthorsNote

    word, _, rest = line.partition(" ")
    rest = rest.strip()
    if word == "/regen":
        return session.regenerate(sampling)
    if word == "/continue":
        return session.continue_reply(sampling)
    if word in ("/left", "/right"):
        n, of = session.swipe(-1 if word == "/left" else 1)
        out.print(f"[dim]swipe {n}/{of}[/]")
        out.out(safe_text(session.history[-1].content))
        _annotate(session, out)
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
        out.out(safe_text(draft.text.strip()))
    elif word == "/persona":
        name, _, description = rest.partition("|")
        session.set_persona(name, description)
        out.print(f"[dim]you are {escape(safe_line(session.user))}[/]")
    elif word == "/note":
        if rest:
            old = session.authors_note or AuthorsNote()
            session.set_authors_note(old.model_copy(update={"text": rest}))
        note = session.authors_note
        shown = safe_text(f"{note.describe()}: {note.text}") if note else "no author's note"
        out.print(shown, markup=False)
    elif word == "/state":
        # trust:NAME may hold spaces (its value is a number); a text variable's value may too
        name, _, value = rest.rpartition(" ") if rest.startswith("trust:") else rest.partition(" ")
        if name and not value.strip():
            raise LoreweaverError("/state needs a name and a value, e.g. /state trust 3")
        if name:
            entry = session.set_state(name, value)
            out.print(safe_line(f"{entry.label} = {entry.shown()}"), markup=False)
        else:
            for entry in session.state():
                out.print(safe_line(f"{entry.key} = {entry.shown()}"), markup=False)
    elif word == "/help":
        for usage, meaning in CHAT_COMMANDS.items():
            out.print(f"{usage:<32} {meaning}", markup=False)
    else:
        raise LoreweaverError(f"unknown chat command {word!r} (try /help)")
    return None


def _lines(say: str | None, interactive: bool, out: Console, user: str) -> Iterator[str]:
    """The user's turns: one `--say`, prompts on a terminal, or stdin lines in a pipe.

    Bytes on stdin that are not UTF-8 become U+FFFD (as `--say`'s do), so a line can always
    be stored.
    """
    if say is not None:
        yield say
        return
    if hasattr(sys.stdin, "reconfigure"):
        sys.stdin.reconfigure(errors="replace")
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
            line = out.input(f"[bold green]{escape(safe_line(user))}[/]> ").strip()
        except (EOFError, KeyboardInterrupt):
            out.print()
            return
        if line in ("/quit", "/exit"):
            return
        if line:
            yield line
