"""Entry point for `loreweaver` with no sub-command."""

from __future__ import annotations


def run_tui() -> int:
    from app.tui.app import LoreweaverApp

    LoreweaverApp().run()
    return 0
