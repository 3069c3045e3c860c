"""The stop matcher on its own: stops split across pieces are never shown, even in part."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app.engine.stops import StopMatcher


def feed_all(matcher: StopMatcher, pieces: list[str]) -> str:
    shown = "".join(matcher.feed(p) for p in pieces)
    return shown + matcher.flush()


def test_stop_split_across_pieces() -> None:
    m = StopMatcher(["\nUser:"])
    assert feed_all(m, ["Hello", "\nUs", "er:", " more"]) == "Hello"
    assert m.stopped_by == "\nUser:"


def test_text_that_may_start_a_stop_is_held_back_until_decided() -> None:
    m = StopMatcher(["<|im_end|>"])
    assert m.feed("a <|im") == "a "
    assert m.feed("_") == ""  # "<|im_" is still a possible start
    assert m.feed("x") == "<|im_x"  # no longer: released in one go
    assert m.stopped_by is None


def test_earliest_of_several_stops_wins() -> None:
    m = StopMatcher(["END", "\nUser:"])
    assert feed_all(m, ["x\nUser: y END"]) == "x"
    assert m.stopped_by == "\nUser:"


def test_overlapping_stops_pick_the_one_that_starts_first() -> None:
    m = StopMatcher(["cde", "bcdx", "bc"])
    assert feed_all(m, ["ab", "c", "def"]) == "a"
    assert m.stopped_by == "bc"


def test_held_text_is_flushed_at_the_end() -> None:
    m = StopMatcher(["<|im_end|>"])
    assert feed_all(m, ["done <|im"]) == "done <|im"


def test_nothing_after_a_stop() -> None:
    m = StopMatcher(["STOP"])
    assert m.feed("aSTOPb") == "a"
    assert m.feed("more") == "" and m.flush() == ""


def test_no_stops_passes_everything_through_at_once() -> None:
    m = StopMatcher(["", ""])
    assert m.feed("abc") == "abc" and m.stopped_by is None


@st.composite
def split_text(draw: st.DrawFn) -> tuple[str, list[str], list[str]]:
    alphabet = st.sampled_from("ab<|>\n ")
    stops = draw(st.lists(st.text(alphabet, min_size=1, max_size=4), min_size=1, max_size=3))
    text = draw(st.text(alphabet, max_size=40))
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=12)))
    pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    return text, stops, pieces


@given(split_text())
def test_any_split_shows_exactly_the_text_before_the_first_stop(
    case: tuple[str, list[str], list[str]],
) -> None:
    text, stops, pieces = case
    hits = [(text.find(s), s) for s in stops if s in text]
    expected = text[: min(hits)[0]] if hits else text
    m = StopMatcher(stops)
    shown_so_far = ""
    for piece in pieces:
        shown_so_far += m.feed(piece)
        assert expected.startswith(shown_so_far)  # never shows any part of a stop
    assert shown_so_far + m.flush() == expected
    assert (m.stopped_by is not None) == bool(hits)
    if hits:
        assert text.find(m.stopped_by or "") == min(hits)[0]


def test_a_longer_stop_starting_earlier_wins_over_a_shorter_one_seen_first() -> None:
    for pieces in (["ab", "c"], ["abc"], ["a", "b", "c"]):
        m = StopMatcher(["abc", "b"])
        assert feed_all(m, pieces) == "", pieces
        assert m.stopped_by == "abc"


def test_a_stop_completed_by_the_last_piece_is_not_shown_at_the_end() -> None:
    m = StopMatcher(["abc", "b"])
    assert m.feed("xab") == "x"  # "abc" may still follow: undecided
    assert m.flush() == "a"  # the reply ended: "b" was the stop after all, and is not shown
    assert m.stopped_by == "b"
