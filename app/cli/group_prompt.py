"""`loreweaver prompt A B C`: each cast member's prompt for its next line in a group scene (a
new one, or a saved one with `--chat`), and with `--explain`, what went into each and why: its
own sheet's sections, the lore that fired for it, its own state, with token counts."""

from __future__ import annotations

import argparse
import sys

from app.text import safe_line, safe_text


def run_group(args: argparse.Namespace) -> int:
    from rich.console import Console

    from app.cli.prompt import explain_table
    from app.engine.adapters import label as adapter_label
    from app.errors import LoreweaverError
    from app.group import state
    from app.group.open import open_scene
    from app.group.prompt import Line, render, scene_text
    from app.home import home
    from app.memory.store import ChatStore
    from app.memory.turn_inputs import TurnInputs, explain_inputs
    from app.npc.structured import annotation_text
    from app.settings import load_settings

    if getattr(args, "note", None):
        raise LoreweaverError("--note is for one-to-one chats, not group scenes")
    where = home()
    settings = load_settings(where)
    store = ChatStore.open(where.ensure()) if args.chat is not None else None
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
            store=store,
            resume=args.chat,
        )
        try:
            scene.reserve = settings.sampling.max_tokens
            lines = list(scene.lines)
            if args.say is not None:  # for this prompt only: nothing is stored
                lines.append(Line("", scene.user, args.say))
            console = Console(soft_wrap=False)
            n_ctx = scene.engine.n_ctx
            for member in scene.cast:
                plan = scene.plan(member, lines)
                text = render(scene.fmt, plan.assembly)
                total = scene.engine.count_tokens(text)
                if not args.explain:
                    sys.stdout.write(f"=== {safe_line(member.name)} ({member.id}) ===\n")
                    sys.stdout.write(safe_text(text) + "\n")
                    continue
                explain_inputs(plan.assembly, TurnInputs(lore=plan.lore))
                where_who = scene_text(member, scene.cast, scene.user, scene.description)
                fixed = next(x for x in plan.assembly.sections if x.name == "constant lore")
                fixed.lines.insert(0, f"scene: {scene.engine.count_tokens(where_who)} tokens")
                own = scene.member_state(member, lines)
                last = state.last_note(member, lines)
                console.print(
                    explain_table(
                        f"Prompt for {safe_line(member.name)} ({member.id}): {total}/{n_ctx} "
                        f"tokens (reply reserve {scene.reserve}), format {scene.fmt.id}",
                        plan.assembly,
                        state.shape(member, own, scene.user, scene.engine),
                        annotation_text(last) if last else "-",
                    )
                )
                if member.adapters:
                    print(
                        safe_line(f"adapters: LoRA {adapter_label(member.adapters, sources=True)}")
                    )
            sys.stdout.flush()
            if scene.fmt.note:
                sys.stderr.write(f"note: {safe_line(scene.fmt.note)}\n")
        finally:
            scene.engine.close()
    finally:
        if store is not None:
            store.close()
    return 0
