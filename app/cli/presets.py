"""`loreweaver presets`: sampler presets, built in and your own (kept in the settings).

`save NAME` keeps the current sampler settings under NAME; `use NAME` makes a preset the
current settings; the terminal app's model settings (F2) list and save the same presets.
"""

from __future__ import annotations

import argparse
import json

from app.text import safe_json, safe_line


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="built-in presets, then yours")
    listing.add_argument("--json", action="store_true", help="print JSON instead of lines")
    save = actions.add_parser("save", help="keep the current sampler settings as a preset")
    save.add_argument("name", metavar="NAME")
    use = actions.add_parser("use", help="make a preset the current sampler settings")
    use.add_argument("name", metavar="NAME")
    remove = actions.add_parser("remove", help="forget one of your presets")
    remove.add_argument("name", metavar="NAME")


def run(args: argparse.Namespace) -> int:
    from app.errors import LoreweaverError
    from app.home import home
    from app.settings import (
        SAMPLING_PRESETS,
        load_settings,
        remove_preset,
        save_preset,
        save_settings,
    )

    where = home()
    settings = load_settings(where)
    presets = settings.all_presets()
    if args.action == "list":
        if args.json:
            rows = [
                {"name": name, "builtin": name in SAMPLING_PRESETS, **values.model_dump()}
                for name, values in presets.items()
            ]
            print(safe_json(json.dumps(rows, indent=2)))
            return 0
        for name, values in presets.items():
            kind = "built-in" if name in SAMPLING_PRESETS else "yours"
            shown = ", ".join(f"{k}={v}" for k, v in values.model_dump().items())
            print(safe_line(f"{name} ({kind}): {shown}"))
        return 0
    if args.action == "save":
        settings = save_preset(settings, args.name, settings.sampling)
        message = f"saved the current sampler settings as preset {' '.join(args.name.split())!r}"
    elif args.action == "use":
        if args.name not in presets:
            raise LoreweaverError(f"no preset named {args.name!r} (presets: {', '.join(presets)})")
        settings = settings.model_copy(update={"sampling": presets[args.name]})
        message = f"sampler settings are now preset {args.name!r}"
    else:
        settings = remove_preset(settings, args.name)
        message = f"removed preset {args.name!r}"
    save_settings(where, settings)
    print(safe_line(message))
    return 0
