"""`loreweaver characters lore-test`: which lore entries fire for a text, and why — the same
`probe` the editor's test box runs, with the model's tokenizer and window, as a chat has them."""

from __future__ import annotations

import argparse
import json
import sys

from app.text import safe_text


def lore_test(args: argparse.Namespace) -> int:
    from app.engine.llamacpp import load_engine
    from app.home import home
    from app.memory.lore import probe
    from app.session_start import resolve_setup
    from app.settings import load_settings
    from app.sheets import library

    where = home()
    settings = load_settings(where)
    _, sheet, info, _ = resolve_setup(
        where, settings, character=args.character, model=args.model, template=None
    )
    world = library.world_books(where, sheet.model_copy(update={"character_book": None}))
    engine = load_engine(info, n_threads=settings.n_threads, n_ctx_cap=settings.n_ctx)
    try:
        found = probe(
            sheet.character_book,
            args.text,
            engine.count_tokens,
            world=world,
            char=sheet.name,
            user=args.user or settings.user_name,
            n_ctx=engine.n_ctx,
            settings=settings.world_info,
        )
    finally:
        engine.close()
    if not args.json:
        sys.stdout.write(safe_text(found.render()) + "\n")
        return 0
    report = {
        "fired": [
            {"entry": line.title, "why": line.reason, "detail": line.detail} for line in found.fired
        ],
        "held": [
            {"entry": line.title, "why": line.reason} for line in found.lines if not line.fired
        ],
        "tokens": found.tokens,
        "budget": found.budget,
        "rules": list(found.rules),
        "notices": list(found.notices),
    }
    sys.stdout.write(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    return 0
