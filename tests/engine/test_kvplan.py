"""The pure KV reuse planner: which cached tokens to keep, move and evaluate."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.engine.kvplan import ReusePlan, plan_reuse


def tokens(n: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    return [rng.randrange(1000, 50000) for _ in range(n)]


def apply(plan: ReusePlan, cached: list[int], new: list[int]) -> list[int]:
    """What the cache holds after the plan: kept cells in their new places, then the evaluated."""
    result = cached[: plan.prefix] + new[plan.prefix : plan.run_dst]
    result += cached[plan.run_src : plan.run_src + plan.run_len]
    return result + new[plan.kept_end :]


def test_pure_prefix_extension() -> None:
    prefix = tokens(300, 1)
    cached = prefix + tokens(20, 2)  # the cache also holds the last reply's generated tokens
    new = prefix + tokens(150, 3)
    plan = plan_reuse(cached, new)
    assert (plan.prefix, plan.run_len) == (300, 0)
    assert plan.evaluated == 150 and plan.kept_end == 300 and plan.shift == 0


def test_identical_prompt_still_evaluates_the_last_token() -> None:
    new = tokens(200, 4)
    plan = plan_reuse(new, new)
    assert plan.prefix == 199 and plan.run_len == 0 and plan.evaluated == 1


def test_dropping_a_middle_span_is_a_context_shift() -> None:
    persona, old, kept, tail = tokens(100, 5), tokens(400, 6), tokens(500, 7), tokens(60, 8)
    cached = persona + old + kept + tokens(30, 9)
    new = persona + kept + tail
    plan = plan_reuse(cached, new)
    assert plan.prefix == 100
    assert (plan.run_src, plan.run_dst, plan.run_len) == (500, 100, 500)
    assert plan.shift == -400 and plan.inserted == (100, 100)
    assert plan.evaluated == 60  # only what is new
    assert apply(plan, cached, new) == new


@pytest.mark.parametrize("block", [40, 250, 700])
def test_a_replaced_span_is_evaluated_before_the_moved_run(block: int) -> None:
    persona, evicted, kept, tail = tokens(80, 10), tokens(400, 11), tokens(300, 12), tokens(50, 13)
    summary = tokens(block, 14)  # shorter or longer than what it replaces
    cached = persona + evicted + kept
    new = persona + summary + kept + tail
    plan = plan_reuse(cached, new)
    assert plan.prefix == 80 and plan.run_len == 300
    assert plan.inserted == (80, 80 + block)
    assert plan.shift == block - 400
    assert plan.evaluated == block + 50
    assert apply(plan, cached, new) == new


def test_no_long_run_falls_back_to_the_prefix() -> None:
    persona = tokens(100, 15)
    cached = persona + tokens(400, 16)
    new = persona + tokens(400, 17)
    plan = plan_reuse(cached, new)
    assert (plan.prefix, plan.run_len, plan.evaluated) == (100, 0, 400)


def test_a_run_shorter_than_min_run_is_ignored() -> None:
    persona, short = tokens(100, 18), tokens(50, 19)
    cached = persona + tokens(200, 20) + short + tokens(100, 21)
    new = persona + short + tokens(100, 22)
    assert plan_reuse(cached, new, min_run=64).run_len == 0
    found = plan_reuse(cached, new, min_run=32)
    assert found.run_len == 50 and found.run_src == 300 and found.run_dst == 100


def test_the_run_never_swallows_the_last_prompt_token() -> None:
    persona, kept = tokens(50, 23), tokens(200, 24)
    cached = persona + tokens(100, 25) + kept
    new = persona + kept
    plan = plan_reuse(cached, new)
    assert plan.run_len == 199 and plan.evaluated == 1
    assert apply(plan, cached, new) == new


def test_repetitive_text_picks_a_run_that_really_matches() -> None:
    unit = tokens(16, 26)
    cached = unit * 40
    new = unit[:5] + unit * 30 + tokens(10, 27)
    plan = plan_reuse(cached, new, min_run=32)
    assert plan.run_len >= 32
    assert apply(plan, cached, new) == new


@settings(max_examples=200, deadline=None)
@given(
    cached=st.lists(st.integers(0, 5), max_size=120),
    new=st.lists(st.integers(0, 5), max_size=120),
    min_run=st.integers(1, 12),
)
def test_any_plan_rebuilds_the_new_prompt(cached: list[int], new: list[int], min_run: int) -> None:
    plan = plan_reuse(cached, new, min_run=min_run)
    assert apply(plan, cached, new) == new
    assert plan.prefix <= plan.run_dst
    assert plan.run_len == 0 or (plan.run_len >= min_run and plan.run_src >= plan.prefix)
    assert plan.kept_end <= max(len(new) - 1, 0)
    assert plan.evaluated == len(new) - plan.reused >= min(len(new), 1)


def test_min_run_must_be_positive() -> None:
    with pytest.raises(ValueError, match="min_run"):
        plan_reuse([1, 2], [1, 2], min_run=0)
