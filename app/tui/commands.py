"""Every key binding of a screen is also a command-palette command, from one definition.

A screen lists `ScreenActions` in its `COMMANDS`; the palette then offers each of the screen's
own bindings that has a description, titled `<screen title>: <description>`, with the binding's
tooltip as help. Keys and palette can therefore never drift apart.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider


class ScreenActions(Provider):
    def _commands(self) -> Iterator[tuple[str, str, str]]:
        screen = self.screen
        prefix = f"{screen.TITLE}: " if screen.TITLE else ""
        seen: set[str] = set()
        for binding in screen.BINDINGS:
            if not isinstance(binding, Binding) or not binding.description:
                continue
            if binding.action in seen:
                continue
            seen.add(binding.action)
            yield prefix + binding.description, binding.action, binding.tooltip

    async def discover(self) -> Hits:
        for title, action, help_text in self._commands():
            yield DiscoveryHit(title, partial(self.screen.run_action, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, action, help_text in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(title),
                    partial(self.screen.run_action, action),
                    text=title,
                    help=help_text,
                )
