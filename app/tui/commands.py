"""The command palette, from one definition: every key binding with a description, of the screen
on show and of the app, is also a palette command.

A screen lists `ScreenActions` in its `COMMANDS`; the palette then offers each of the screen's
own bindings, titled `<screen title>: <description>`, and the app's (Help, Quit) by description,
each with the binding's tooltip as help. Keys and palette can therefore never drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider


class ScreenActions(Provider):
    def _commands(self) -> Iterator[tuple[str, Callable[[], object], str | None]]:
        screen, app = self.screen, self.app
        prefix = f"{screen.TITLE}: " if screen.TITLE else ""
        for node, title_prefix in ((screen, prefix), (app, "")):
            seen: set[str] = set()
            for binding in node.BINDINGS:
                if not isinstance(binding, Binding) or not binding.description:
                    continue
                if binding.action in seen:
                    continue
                seen.add(binding.action)
                run = partial(node.run_action, binding.action)
                yield title_prefix + binding.description, run, binding.tooltip

    async def discover(self) -> Hits:
        for title, run, help_text in self._commands():
            yield DiscoveryHit(title, run, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, run, help_text in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), run, text=title, help=help_text)
