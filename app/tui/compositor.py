"""The chat screen's compositor: a partial update renders only the widgets it touches.

Textual (8.2.8, pinned) renders, for every partial update, each widget whose *container*
overlaps the changed area, all its lines, then throws away those outside it: for a streaming
reply that repaints two lines, the header, footer, sidebar and input are rendered again every
frame: half the UI thread's work, taken from the model on two cores. Here a widget outside the
changed area is skipped and the others are rendered only on the changed rows. Columns are left
whole: the compositor's cuts (where widgets meet on a line) must line up with each strip's start.
What reaches the terminal is unchanged (a test compares the two against each other).
"""

from __future__ import annotations

from collections.abc import Iterable

from textual._compositor import Compositor
from textual.geometry import Region
from textual.strip import Strip


class CroppingCompositor(Compositor):
    def _get_renders(
        self, crop: Region | None = None
    ) -> Iterable[tuple[Region, Region, list[Strip]]]:
        if crop is None:
            yield from super()._get_renders(crop)
            return
        for widget, (region, clip) in self.visible_widgets.items():
            visible = region.intersection(clip)
            top, bottom = max(visible.y, crop.y), min(visible.bottom, crop.bottom)
            if bottom <= top or visible.right <= crop.x or crop.right <= visible.x:
                continue
            rows = Region(visible.x, top, visible.width, bottom - top)
            yield rows, rows, widget.render_lines(rows.translate(-region.offset))
