"""The stop matcher on its own: stops split across pieces are never shown, even in part."""

from __future__ import annotations

from app.engine.stops import StopMatcher


def feed_all(matcher: StopMatcher, pieces: list[str]) -> str:
    shown = "".join(matcher.feed(p) for p in pieces)
    return shown + matcher.flush()


def test_stop_split_across_pieces() -> None:
    m = StopMatcher(["\nUser:"])
    assert feed_all(m, ["Hello", "\nUs", "er:", " more"]) == "Hello"
    assert m.stopped_by == "\nUser:"


def test_partial_match_that_turns_out_not_to_be_a_stop_is_released() -> None:
    m = StopMatcher(["<|im_end|>"])
    assert m.feed("a <|im") == "a "
    assert m.feed("ag") == "<|imag"
    assert m.stopped_by is None


def test_earliest_of_several_stops_wins() -> None:
    m = StopMatcher(["END", "\nUser:"])
    assert feed_all(m, ["x\nUser: y END"]) == "x"
    assert m.stopped_by == "\nUser:"


def test_held_text_is_flushed_at_the_end() -> None:
    m = StopMatcher(["<|im_end|>"])
    assert feed_all(m, ["done <|im"]) == "done <|im"


def test_nothing_after_a_stop() -> None:
    m = StopMatcher(["STOP"])
    assert m.feed("aSTOPb") == "a"
    assert m.feed("more") == "" and m.flush() == ""
