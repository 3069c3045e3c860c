"""Corrupted files of every container: a card or a LoreweaverError, never any other exception."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.errors import LoreweaverError
from app.sheets.cards.charx import write_charx
from app.sheets.cards.png import placeholder_avatar, write_png_card
from app.sheets.cards.reader import read_card_file

CARD = {
    "spec": "chara_card_v3",
    "spec_version": "3.0",
    "data": {
        "name": "Brenna",
        "assets": [{"type": "icon", "uri": "embeded://assets/i.png", "name": "main", "ext": "png"}],
    },
}
AVATAR = placeholder_avatar("Brenna", 8)
SAMPLES = {
    "card.png": write_png_card(AVATAR, v2=CARD, v3=CARD),
    "card.charx": write_charx(CARD, {"assets/i.png": AVATAR, "assets/notes.txt": b"n" * 300}),
    "card.json": b'{"spec": "chara_card_v2", "data": {"name": "Brenna"}}',
    "card.yaml": b"name: Brenna\ngoals: [forge]\n",
}

edits = st.lists(
    st.tuples(st.integers(min_value=0), st.integers(min_value=0, max_value=255)),
    min_size=1,
    max_size=4,
)


@pytest.mark.parametrize("name", sorted(SAMPLES))
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(edits=edits, cut=st.none() | st.integers(min_value=0))
def test_corruption_gives_a_card_or_one_line_error(
    name: str, edits: list[tuple[int, int]], cut: int | None, tmp_path: Path
) -> None:
    data = bytearray(SAMPLES[name])
    for position, value in edits:
        data[position % len(data)] = value
    if cut is not None:
        del data[cut % len(data) :]
    path = tmp_path / name
    path.write_bytes(bytes(data))
    try:
        raw = read_card_file(path)
    except LoreweaverError as err:
        assert "\n" not in str(err)
        assert str(err).startswith(f"{path}: ")
    else:
        assert isinstance(raw.card, dict)
