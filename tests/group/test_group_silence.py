"""A member whose turn comes out empty still had its turn (scripted engine: the model's words
do not matter here, only what the scene does with an empty one)."""

from __future__ import annotations

import random

import pytest
from tui.fake_engine import FakeEngine

from app.engine.base import Sampling
from app.group import GroupScene, load_cast
from app.group.order import Order
from app.home import Home
from app.models import bundled_model_path, read_model_info
from app.prompts.formats import choose_format


@pytest.mark.parametrize("order", ["round-robin", "mention"])
def test_a_silent_turn_passes_the_word_on(lw_home: Home, cast_ids: list[str], order: Order) -> None:
    bundled = bundled_model_path()
    assert bundled is not None
    replies = [["Fine."], [], ["Quiet here."], [], [], ["Well then."]]
    scene = GroupScene(
        load_cast(lw_home, cast_ids),
        choose_format(None, read_model_info(bundled, "bundled")),
        FakeEngine(replies=replies),
        user="Wren",
        order=order,
        rng=random.Random(1),
    )
    scene.say(f"{scene.cast[1].name}, what did you see?")
    turns = [(r.member.id, r.finish().text) for r in scene.talk(len(replies), Sampling())]
    first = cast_ids.index(scene.cast[1].id)  # the one addressed answers first, by mention
    start = first if order == "mention" else 0
    assert [who for who, _ in turns] == [cast_ids[(start + i) % 3] for i in range(len(replies))]
    assert [line.text for line in scene.lines[1:]] == ["Fine.", "Quiet here.", "Well then."]
