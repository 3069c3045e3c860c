"""`loreweaver personas`: the personas you play, saved in the home (list, add, remove, default).

`chat --persona NAME` plays one; a persona added with `--character ID` is used for that
character's new chats automatically, and the default one for every other character.
"""

from __future__ import annotations

import argparse
import json

from app.text import safe_json, safe_line


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="saved personas (* marks the default)")
    listing.add_argument("--json", action="store_true", help="print JSON instead of lines")

    add = actions.add_parser("add", help="save a persona (replaces one of the same name)")
    add.add_argument("name", metavar="NAME")
    add.add_argument("description", nargs="?", default="", metavar="DESCRIPTION")
    add.add_argument("--character", metavar="ID", help="use it for this character's chats")
    add.add_argument("--default", action="store_true", help="make it the default persona")

    remove = actions.add_parser("remove", help="forget a saved persona")
    remove.add_argument("name", metavar="NAME")

    default = actions.add_parser("default", help="make a persona the default (--none: no default)")
    which = default.add_mutually_exclusive_group(required=True)
    which.add_argument("name", nargs="?", metavar="NAME")
    which.add_argument("--none", action="store_true", help="use the settings' user name again")


def run(args: argparse.Namespace) -> int:
    from app.home import home
    from app.personas import (
        add_persona,
        load_personas,
        remove_persona,
        save_personas,
        with_default,
    )

    where = home()
    personas = load_personas(where)
    if args.action == "list":
        if args.json:
            rows = [
                {**p.model_dump(), "default": p.name == personas.default} for p in personas.personas
            ]
            print(safe_json(json.dumps(rows, ensure_ascii=False, indent=2)))
            return 0
        if not personas.personas:
            print("no saved personas (add one: loreweaver personas add NAME DESCRIPTION)")
        for p in personas.personas:
            mark = "*" if p.name == personas.default else " "
            lock = f" [for {p.character}]" if p.character else ""
            about = f": {' '.join(p.description.split())[:100]}" if p.description else ""
            print(safe_line(f"{mark} {p.name}{lock}{about}"))
        return 0
    if args.action == "add":
        personas = add_persona(personas, args.name, args.description, character=args.character)
        name = personas.personas[-1].name
        if args.default:
            personas = with_default(personas, name)
        save_personas(where, personas)
        print(safe_line(f"saved persona {name!r}" + (" (default)" if args.default else "")))
    elif args.action == "remove":
        name = personas.find(args.name).name
        save_personas(where, remove_persona(personas, name))
        print(safe_line(f"removed persona {name!r}"))
    else:
        personas = with_default(personas, None if args.none else args.name)
        save_personas(where, personas)
        shown = f"default persona: {personas.default}" if personas.default else "no default persona"
        print(safe_line(shown))
    return 0
