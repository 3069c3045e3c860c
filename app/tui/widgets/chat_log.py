"""The scrolling conversation: one block per message, the last one growing as a reply streams."""

from __future__ import annotations

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static


class ChatMessage(Static):
    """One turn. `*actions*` are shown dim and italic, apart from speech."""

    def __init__(self, speaker: str, text: str, *, mine: bool) -> None:
        super().__init__(classes="mine" if mine else "theirs")
        self.speaker = speaker
        self.text = text
        self.update(self._styled())

    def append(self, piece: str) -> None:
        self.text += piece
        self.update(self._styled())

    def _styled(self) -> Text:
        out = Text()
        out.append(f"{self.speaker}: ", style="bold")
        for index, part in enumerate(self.text.split("*")):
            out.append(part, style="italic dim" if index % 2 else "")
        return out


class ChatLog(VerticalScroll):
    def on_mount(self) -> None:
        self.anchor()

    def add(self, speaker: str, text: str, *, mine: bool) -> ChatMessage:
        message = ChatMessage(speaker, text, mine=mine)
        self.mount(message)
        return message
