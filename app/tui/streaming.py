"""Pacing a generation for the screen: how often it is drawn, garbage collected between replies."""

from __future__ import annotations

import gc

FRAME_S = 1 / 10
"""How often a streaming reply is redrawn: smooth to read, and every redraw is CPU the model
(which has all the cores) does not get."""


def settle_memory() -> None:
    """Collect garbage now, while nothing streams, then set the survivors aside.

    Python's full collection walks every object (the app, Textual, the model's wrapper): a pause
    of 30–60 ms here, holding the interpreter lock, at a random moment, so mid-reply as often as
    not, where it stalls the engine's thread and any key typed. Frozen, the survivors are not
    walked again: collections while the next reply streams see only what it made (≤ 2 ms).
    Unfrozen first, so what was set aside last time and died since is collected, not leaked.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()
