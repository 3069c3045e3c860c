"""`bench --big-chat` on a shortened run: its chats are built as asked and every resume reports
its phases; the big chat's prompt holds only a window. Timings are only reported by the bench."""

from __future__ import annotations

from pathlib import Path

from app.bench.big_chat import build_chat, run_big_chat
from app.home import Home
from app.memory.store import ChatStore
from app.models import resolve_model


def test_build_chat_writes_one_alternating_path(tmp_path: Path) -> None:
    with ChatStore.open(Home(tmp_path)) as store:
        chat_id = build_chat(store, 7, last_chars=5000)
        path = store.active_path(chat_id)
        assert [m.role for m in path] == ["assistant", "user"] * 3 + ["assistant", "user"]
        assert [m.depth for m in path] == list(range(8))
        assert len(path[-1].content) == 5000
        assert store.list_chats()[0].message_count == 8


def test_a_shortened_big_chat_bench_resumes_each_chat_in_a_child(tmp_path: Path) -> None:
    info = resolve_model(Home(tmp_path), None)
    report = run_big_chat(
        info, big=1500, small=30, huge_chars=300_000, opens=1, n_ctx=1024, n_threads=2
    )
    small, big, huge = report.small[0], report.big[0], report.huge[0]
    assert (small.messages, big.messages, huge.messages) == (30, 1500, 30)
    assert 0 < big.window_messages < 200  # the window, not the path
    assert big.prompt_chars < 20 * small.prompt_chars
    assert huge.prompt_chars < 100_000  # the 300,000-character message was cut
    assert all(r.peak_rss_mb > 0 and r.first_token_s > 0 for r in (small, big, huge))
    figures = report.as_dict()
    assert {"resume_ratio_big_vs_small", "extra_peak_mb_big", "runs"} <= set(figures)
    assert len(figures["runs"]) == 3
