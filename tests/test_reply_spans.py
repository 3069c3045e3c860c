"""Cutting a reply into speech, action and narration (app/reply_spans.py)."""

from __future__ import annotations

from hypothesis import assume, given
from hypothesis import strategies as st

from app.reply_spans import Kind, Span, reply_spans

A, S, N = Kind.ACTION, Kind.SPEECH, Kind.NARRATION

# Replies built mostly of the characters the rules read, so the cases exercise them.
MARKED = st.text(alphabet=st.sampled_from('ab "“”*\n.'), max_size=60)
PLAIN = st.text(alphabet=st.characters(blacklist_characters='"“”*\n'), min_size=1, max_size=12)


def kinds_of(spans: list[Span]) -> list[Kind]:
    return [span.kind for span in spans for _ in range(span.end - span.start)]


def pieces(text: str) -> list[tuple[str, Kind]]:
    return [(text[span.start : span.end], span.kind) for span in reply_spans(text)]


@given(MARKED | st.text(max_size=60))
def test_spans_cover_the_text_exactly(text: str) -> None:
    spans = reply_spans(text)
    assert "".join(text[s.start : s.end] for s in spans) == text  # nothing lost or invented
    assert all(s.start < s.end for s in spans)
    assert [s.start for s in spans[1:]] == [s.end for s in spans[:-1]]
    assert all(a.kind != b.kind for a, b in zip(spans, spans[1:], strict=False))  # maximal


@given(MARKED)
def test_what_is_read_never_changes_as_more_arrives(text: str) -> None:
    whole = kinds_of(reply_spans(text))
    for end in range(len(text)):
        assert kinds_of(reply_spans(text[:end])) == whole[:end]


@given(st.lists(st.tuples(st.sampled_from(["narration", "speech", "curly", "action"]), PLAIN)))
def test_marked_runs_are_read_as_written(parts: list[tuple[str, str]]) -> None:
    """A reply assembled from known runs is cut back into those runs, marks included."""
    wrap = {
        "narration": ("{}", N),
        "speech": ('"{}"', S),
        "curly": ("“{}”", S),
        "action": ("*{}*", A),
    }
    expected: list[tuple[str, Kind]] = []
    for kind_name, words in parts:
        form, kind = wrap[kind_name]
        shown = form.format(words)
        if expected and expected[-1][1] == kind and kind_name != "action":
            expected[-1] = (expected[-1][0] + shown, kind)
        elif expected and expected[-1][1] == kind:
            assume(False)  # `*a**b*`: a run of asterisks is one mark, so not two actions
        else:
            expected.append((shown, kind))
    assert pieces("".join(form for form, _ in expected)) == expected


def test_a_quote_touching_a_letter_is_still_speech() -> None:
    """The reply that Markdown drew as `**"Then I will take it."**And`."""
    assert pieces('*I grin.*"Then I will take it."And I pay') == [
        ("*I grin.*", A),
        ('"Then I will take it."', S),
        ("And I pay", N),
    ]


def test_marks_nest_and_close_what_opened_inside_them() -> None:
    assert pieces('*she says "hi" and waves*') == [
        ("*she says ", A),
        ('"hi"', A | S),
        (" and waves*", A),
    ]
    assert pieces('"5 * 3" is fifteen') == [('"5 ', S), ('* 3"', S | A), (" is fifteen", N)]


def test_an_open_mark_ends_with_its_line_and_runs_of_asterisks_are_one_mark() -> None:
    assert pieces('"Wait —\nShe goes.') == [('"Wait —', S), ("\nShe goes.", N)]
    assert pieces("**bold** then") == [("**bold**", A), (" then", N)]
    assert pieces("a ” stray close") == [("a ” stray close", N)]
