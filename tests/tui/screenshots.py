"""Write the README's screenshots (SVG, exported by Textual) into `assets/screenshots/`.

The chat is a real one: the bundled model, greedy, in a temporary home. Run from the checkout:
`python tests/tui/screenshots.py`.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parent.parent)]

from support import wait_until  # noqa: E402
from tui.editor_support import open_editor, settle  # noqa: E402

from app.home import Home  # noqa: E402
from app.settings import SamplingSettings, Settings, save_settings  # noqa: E402
from app.tui.app import LoreweaverApp  # noqa: E402
from app.tui.screens.library import LibraryScreen  # noqa: E402
from app.tui.widgets.composer import Composer  # noqa: E402

OUT = HERE.parent.parent / "assets" / "screenshots"
SIZE = (120, 36)


async def _shoot(home: Home) -> None:
    app = LoreweaverApp(home)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.session is not None, timeout=60)
        app.open_character("brenna", new=True)
        await wait_until(pilot, lambda: app.current_id == "brenna" and app.session is not None)
        box = app.query_one("#say", Composer)
        box.text = "How much for a dagger that holds an edge?"
        await pilot.press("enter")
        await wait_until(pilot, lambda: not app.busy and app.last_stats != "", timeout=120)
        await pilot.pause(0.3)
        app.save_screenshot("chat.svg", str(OUT))

        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: isinstance(app.screen, LibraryScreen))
        await pilot.pause(0.5)
        app.save_screenshot("library.svg", str(OUT))
        await pilot.press("escape")
        await pilot.pause()

        screen = await open_editor(app, pilot, "brenna")
        await settle(pilot, screen)
        await pilot.pause(0.5)
        app.save_screenshot("editor.svg", str(OUT))


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lw-shots-") as folder:
        os.environ["LOREWEAVER_HOME"] = folder
        home = Home(Path(folder)).ensure()
        save_settings(
            home,
            Settings(sampling=SamplingSettings(temperature=0.0, top_k=1, seed=7, max_tokens=80)),
        )
        asyncio.run(_shoot(home))
    print(f"wrote {', '.join(sorted(p.name for p in OUT.glob('*.svg')))} to {OUT}")


if __name__ == "__main__":
    main()
