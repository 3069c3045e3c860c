"""`loreweaver models adapters MODEL [FILE[:SCALE] ...] [--clear]`: the LoRA adapters applied
whenever MODEL is loaded, under every character (`Settings.model_adapters`); a sheet's own
adapters come after them (`app.speaker_adapters`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from app.errors import LoreweaverError
from app.text import safe_line


def configure(sub: argparse._SubParsersAction) -> None:
    adapters = sub.add_parser(
        "adapters",
        help="LoRA adapters applied whenever a model is loaded, under every character",
        description="Name the LoRA adapters applied whenever MODEL is loaded, before each "
        "character's own; with no FILE, show them.",
    )
    adapters.add_argument("model", metavar="MODEL", help="a model id, as for --model")
    adapters.add_argument(
        "files",
        nargs="*",
        metavar="FILE[:SCALE]",
        help="a GGUF LoRA file (a bare name is looked up in the models folders), applied at "
        "SCALE (default 1; 0 switches it off); replaces the model's list",
    )
    adapters.add_argument("--clear", action="store_true", help="remove the model's adapters")


def run(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from app.engine.adapters import Adapter, label, resolve
    from app.home import home
    from app.models import find_remote, resolve_model
    from app.settings import Settings, load_settings, save_settings
    from app.sheets.validation import describe
    from app.speaker_adapters import adapter_folders, check_entry, parse_ref

    if args.clear and args.files:
        raise LoreweaverError("give adapter files or --clear, not both")
    where = home()
    settings = load_settings(where)
    if find_remote(where, args.model) is not None:
        raise LoreweaverError(
            f"{args.model} is a remote model: its server applies the adapters it was started "
            "with (llama-server --lora FILE)"
        )
    info = resolve_model(where, args.model)
    entries = dict(settings.model_adapters)
    if not args.files and not args.clear:
        named = entries.get(info.id, [])
        count = f"{len(named) or 'no'} LoRA adapter{'' if len(named) == 1 else 's'}"
        print(safe_line(f"{info.id}: {count}, under every character"))
        for ref in named:
            try:
                where_is = str(resolve([(ref.file, ref.scale)], adapter_folders(where))[0].path)
            except LoreweaverError as exc:
                where_is = str(exc)
            print(safe_line(f"  {Adapter(Path(ref.file), ref.scale).label}  {where_is}"))
        return 0
    if args.clear:
        if entries.pop(info.id, None) is None:
            print(safe_line(f"{info.id}: no LoRA adapters to clear"))
            return 0
        adapters: list[Adapter] = []
    else:
        refs = [parse_ref(text) for text in args.files]
        adapters = check_entry(info, refs, where)
        entries[info.id] = refs
    try:
        changed = Settings.model_validate({**settings.model_dump(), "model_adapters": entries})
    except ValidationError as exc:
        raise LoreweaverError(describe(exc), path=where.settings_file) from None
    save_settings(where, changed)
    said = f"LoRA {label(adapters)}, under every character" if adapters else "LoRA adapters cleared"
    print(safe_line(f"{info.id}: {said}"))
    return 0
