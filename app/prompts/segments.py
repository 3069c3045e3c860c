"""A rendered prompt that remembers which of its parts are format markup and which are text.

Card, lore, summary and chat text may contain the very strings a format uses as control
tokens (`<|im_start|>`, `<start_of_turn>`, `[INST]`, an EOS). Tokenized as one string with
special tokens parsed, such text would forge turns. A `Prompt` is still the prompt's text (a
`str`, so it prints, compares and is stored as before) but carries its segments: the engine
parses special tokens only in the format's own segments and tokenizes every text segment as
plain text. Any other `str` given to the engine is plain text throughout.

A rendered prompt also keeps the turns it was rendered from (`messages`), for an engine that
can only send turns (a server with chat completions alone, whose own template then renders
them); a prompt with text joined to it has none, as its text is no longer just those turns.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from app.prompts.messages import Message


@dataclass(frozen=True)
class Segment:
    text: str
    special: bool
    """True for the format's own markup, whose control-token strings are real control tokens."""


class Prompt(str):
    """A prompt's text plus its segments. Joining it with text keeps the segments (the added
    text is plain text); any other string operation gives a plain `str`, which is all text."""

    segments: tuple[Segment, ...]
    messages: tuple[Message, ...]
    """The turns this prompt renders, when it is exactly a format's render of them."""

    def __new__(cls, segments: Iterable[Segment], messages: Iterable[Message] = ()) -> Prompt:
        parts = tuple(s for s in segments if s.text)
        prompt = super().__new__(cls, "".join(s.text for s in parts))
        prompt.segments = parts
        prompt.messages = tuple(messages)
        return prompt

    @classmethod
    def markup(cls, text: str) -> Prompt:
        """Trusted format text only (a hand-written prompt in a tool or test), parsed whole."""
        return cls([Segment(text, True)])

    def __add__(self, other: str) -> Prompt:
        return Prompt((*self.segments, *segments_of(other)))

    def __radd__(self, other: str) -> Prompt:
        return Prompt((*segments_of(other), *self.segments))

    def __getnewargs__(self) -> tuple[tuple[Segment, ...], tuple[Message, ...]]:  # type: ignore[override]
        return (self.segments, self.messages)


def segments_of(prompt: str) -> tuple[Segment, ...]:
    """A `Prompt`'s segments; any other string is one text segment."""
    if isinstance(prompt, Prompt):
        return prompt.segments
    return (Segment(prompt, False),) if prompt else ()
