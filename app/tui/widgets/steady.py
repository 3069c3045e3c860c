"""Widgets whose virtual size does not lay the screen out again."""

from __future__ import annotations

from textual.geometry import Size
from textual.reactive import Reactive


def steady_virtual_size() -> Reactive[Size]:
    """A `virtual_size` that repaints the widget instead of laying the screen out again.

    Textual declares a widget's virtual size layout-changing, so each change re-arranges and
    repaints every widget on screen: on every key in an `Input` (its virtual width is the text's),
    and a second time after each layout that grows a block of text (the layout sets it). For a
    widget that does not scroll vertically, the virtual size bounds nothing its parent lays out.
    Assign to the `virtual_size` of such a widget's class.
    """
    return Reactive(Size(0, 0), layout=False)
