"""The chat log's cheap line bound: it may overshoot, never undershoot (text would be cut off)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.text import Text

from app.tui.widgets.chat_log import most_lines

WORDS = st.sampled_from(["a", "the", "sword", "*smiles*", '"Aye"', "extraordinarily", "日本語",
                         "🗝️", "quenched,", "x" * 30, "\n", ""])


@settings(max_examples=400, deadline=None)
@given(words=st.lists(WORDS, max_size=200), width=st.integers(min_value=8, max_value=140))
def test_the_bound_is_never_below_richs_wrap(words: list[str], width: int) -> None:
    text = " ".join(words)
    console = Console(width=width + 10)
    assert most_lines(text, width) >= len(Text(text).wrap(console, width))


def test_the_bound_is_close_for_prose() -> None:
    text = 'The blade was folded *she smiles* and quenched in the river, "Aye, the finest" ' * 20
    actual = len(Text(text).wrap(Console(width=200), 90))
    assert actual <= most_lines(text, 90) <= actual + 2
