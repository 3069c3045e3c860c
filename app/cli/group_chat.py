"""`loreweaver chat A B C`: a group scene in the plain terminal, or scripted through stdin.

Each line the player types is answered by the NPC the turn order picks (by default the one
addressed by name); `@id text` makes `id` answer, `/talk N` lets the NPCs talk N turns among
themselves, `/regen` takes the last NPC line again (kept as a swipe); `/left`, `/right`,
`/edit`, `/delete` and `/branch` move about the scene's tree as in a one-to-one chat. Every
line is printed as "Name: text".
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from app.text import safe_line

if TYPE_CHECKING:
    from app.engine.base import Sampling
    from app.group.prompt import Line
    from app.group.scene import GroupScene, SceneReply

GROUP_COMMANDS = {
    "@ID TEXT": "say TEXT and have ID answer",
    "/talk N": "let the NPCs talk N turns among themselves",
    "/regen": "another take of the last NPC line (kept as a swipe)",
    "/left": "the previous swipe of the last line",
    "/right": "the next swipe of the last line",
    "/edit TEXT": "replace the last line's text",
    "/delete": "delete the last line",
    "/branch": "start a new scene from here",
    "/help": "this list",
    "/quit": "leave",
}


def add_group_flags(parser: argparse.ArgumentParser) -> None:
    from app.group.order import ORDERS

    parser.add_argument("--scene", metavar="TEXT", help="group scene: where and what is happening")
    parser.add_argument(
        "--order",
        choices=ORDERS,
        default="mention",
        help="group scene: who answers (default: the NPC addressed, else the next in turn)",
    )
    parser.add_argument(
        "--talk", type=int, default=0, metavar="N", help="group scene: then N NPC-to-NPC turns"
    )
    parser.add_argument("--to", metavar="ID", help="group scene: this NPC answers --say")


def refuse_group_flags(args: argparse.Namespace) -> None:
    """A one-to-one chat given a group scene's flags says so rather than ignore them."""
    from app.errors import LoreweaverError

    given = [flag for flag in ("scene", "to", "talk") if getattr(args, flag)]
    if given:
        raise LoreweaverError(f"--{given[0]} is for group scenes (name several characters)")


def run_group(args: argparse.Namespace) -> int:
    from app.errors import LoreweaverError
    from app.home import home
    from app.memory.store import ChatStore
    from app.session_start import sampling_from
    from app.settings import load_settings

    if args.max_tokens is not None and args.max_tokens < 1:
        raise LoreweaverError(f"--max-tokens must be at least 1, got {args.max_tokens}")
    if args.talk < 0:
        raise LoreweaverError(f"--talk must be 0 or more, got {args.talk}")
    for flag in ("note", "stop"):
        if getattr(args, flag, None):
            raise LoreweaverError(f"--{flag} is for one-to-one chats, not group scenes")
    where = home().ensure()
    settings = load_settings(where)
    sampling = sampling_from(settings, seed=args.seed, max_tokens=args.max_tokens)
    from app.group.open import open_scene

    store = ChatStore.open(where)
    try:
        scene = open_scene(
            where,
            settings,
            args.character,
            model=args.model,
            template=args.template,
            user=args.user,
            persona=args.persona,
            description=args.scene,
            order=args.order,
            store=store,
            resume=args.resume,
        )
        try:
            if args.to is not None:
                scene.member(args.to)  # checked before anything is stored
            _play(scene, args, sampling)
        finally:
            scene.close()
            scene.engine.close()
    finally:
        store.close()
    return 0


def _play(scene: GroupScene, args: argparse.Namespace, sampling: Sampling) -> None:
    from app.errors import LoreweaverError

    if args.say is not None:
        scene.say(args.say)
        _show(scene.reply(scene.member(args.to) if args.to else None, sampling))
        for reply in scene.talk(args.talk, sampling):
            _show(reply)
        return
    if sys.stdin.isatty():
        names = ", ".join(m.name for m in scene.cast)
        print(f"a scene with {safe_line(names)} (@id to choose who answers, /help, /quit)")
        for said in scene.lines:
            _print(said)
    if hasattr(sys.stdin, "reconfigure"):
        sys.stdin.reconfigure(errors="replace")
    for raw in sys.stdin:
        line = raw.strip()
        if line in ("/quit", "/exit"):
            return
        if not line:
            continue
        try:
            _turn(scene, line, sampling)
        except LoreweaverError as exc:
            sys.stderr.write(f"loreweaver: error: {safe_line(str(exc))}\n")
    for reply in scene.talk(args.talk, sampling):
        _show(reply)


def _turn(scene: GroupScene, line: str, sampling: Sampling) -> None:
    from app.errors import LoreweaverError

    word, _, rest = line.partition(" ")
    if word == "/talk":
        if not rest.strip().isdigit():
            raise LoreweaverError("/talk needs a number of turns, e.g. /talk 3")
        for reply in scene.talk(int(rest), sampling):
            _show(reply)
    elif word == "/regen":
        _show(scene.regenerate(sampling))
    elif word in ("/left", "/right"):
        n, of = scene.swipe(-1 if word == "/left" else 1)
        print(f"swipe {n}/{of}")
        _print(scene.lines[-1])
    elif word == "/edit":
        scene.edit(-1, rest)
        print("edited")
    elif word == "/delete":
        scene.delete(-1)
        print(f"deleted; {len(scene.lines)} lines left")
    elif word == "/branch":
        chat = scene.branch(-1)
        print(f"now in chat {chat.id} (a branch)")
    elif word == "/help":
        for usage, meaning in GROUP_COMMANDS.items():
            print(f"{usage:<12} {meaning}")
    elif word.startswith("@") and len(word) > 1:
        member = scene.member(word[1:])
        if rest.strip():
            scene.say(rest)
        _show(scene.reply(member, sampling))
    elif word.startswith("/") and not word.startswith("//"):
        raise LoreweaverError(f"unknown scene command {word!r} ({', '.join(GROUP_COMMANDS)})")
    else:
        scene.say(line.removeprefix("/"))
        _show(scene.reply(None, sampling))


def _show(reply: SceneReply) -> None:
    """Print the line once it is kept (cut before anyone else's label)."""
    try:
        for _ in reply:
            pass
    except KeyboardInterrupt:
        reply.cancel()
    _print(reply.finish())


def _print(line: Line) -> None:
    from app.npc.state import NPC_META
    from app.npc.structured import annotation_text

    print(f"{safe_line(line.name)}: {safe_line(line.text)}", flush=True)
    note = line.meta.get(NPC_META)
    if isinstance(note, dict):  # a structured line: its emotion, action and state changes
        print(safe_line(f"  [{annotation_text(note)}]"), flush=True)
