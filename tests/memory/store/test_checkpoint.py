"""Streaming replies into the store, and what a crash (a real SIGKILL) leaves behind."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from typing import TYPE_CHECKING

import pytest
from support import REPO

from app.engine.base import Sampling
from app.errors import Cancelled
from app.home import Home
from app.memory.store import ChatStore, ReplyWriter, process_token, writer_alive

if TYPE_CHECKING:
    from app.engine.llamacpp import LlamaEngine


def test_a_reply_is_checkpointed_while_it_streams(
    engine: LlamaEngine, story_prompt: str, store: ChatStore, lw_home: Home
) -> None:
    chat = store.create_chat("brenna")
    user = store.add_message(chat.id, "user", "Tell me a very long story.")
    seen: list[tuple[str, str]] = []
    with ChatStore.open(lw_home) as other:  # another connection, as another process would see it

        def watch(saved: str) -> None:
            row = other.get_message(writer.message_id)
            seen.append((row.status, row.content))
            assert saved == row.content

        sampling = Sampling(seed=3, max_tokens=120)
        with ReplyWriter(store, chat.id, name="Brenna", interval_s=0.05, on_flush=watch) as writer:
            assert other.get_message(writer.message_id).status == "streaming"
            generation = engine.generate(story_prompt, sampling)
            for piece in generation:
                writer.append(piece)
            done = writer.complete(
                generation, model="SmolLM2.gguf", template="chatml", sampling=sampling
            )
        assert other.recovered == []  # a live writer's row is not taken for a crash

    assert writer.saves >= 2 and len(seen) == writer.saves
    assert all(status == "streaming" for status, _ in seen)
    assert all(generation.text.startswith(text) for _, text in seen)
    assert done.status == "complete" and done.content == generation.text
    assert done.parent_id == user.id and done.name == "Brenna"
    stats = generation.stats
    assert done.meta["model"] == "SmolLM2.gguf" and done.meta["template"] == "chatml"
    assert done.meta["seed"] == 3 and done.meta["sampling"]["max_tokens"] == 120
    assert done.meta["prompt_tokens"] == stats.prompt_tokens > 0
    assert done.meta["completion_tokens"] == stats.completion_tokens > 0
    assert done.meta["evaluated_tokens"] == stats.evaluated_tokens
    assert done.meta["first_token_s"] == stats.first_token_s
    assert done.meta["total_s"] == stats.total_s > 0
    assert done.meta["finish_reason"] == stats.finish_reason
    assert store.get_message(done.id) == done


def test_a_regenerated_reply_is_a_swipe(
    engine: LlamaEngine, story_prompt: str, store: ChatStore
) -> None:
    chat = store.create_chat("brenna")
    user = store.add_message(chat.id, "user", "Hello.")
    replies = []
    for seed in (1, 2):
        with ReplyWriter(store, chat.id, parent_id=user.id) as writer:
            generation = engine.generate(story_prompt, Sampling(seed=seed, max_tokens=8))
            for piece in generation:
                writer.append(piece)
            replies.append(writer.complete(generation))
    assert [m.id for m in store.swipes(replies[1].id)] == [r.id for r in replies]
    assert store.active_path(chat.id)[-1].id == replies[1].id


@pytest.mark.parametrize(
    ("error", "status"),
    [(KeyboardInterrupt, "cancelled"), (Cancelled, "cancelled"), (RuntimeError, "interrupted")],
)
def test_leaving_mid_reply_keeps_the_text(
    store: ChatStore, error: type[BaseException], status: str
) -> None:
    chat = store.create_chat("brenna")
    with pytest.raises(error), ReplyWriter(store, chat.id, interval_s=3600) as writer:
        writer.append("Once upon ")
        writer.append("a time")
        raise error()
    message = store.get_message(writer.message_id)
    assert (message.status, message.content) == (status, "Once upon a time")
    with pytest.raises(RuntimeError, match="already"):
        writer.append("more")


def test_a_reply_left_streaming_by_a_dead_process_is_interrupted(lw_home: Home) -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    token = process_token(sleeper.pid)
    assert writer_alive(token, age_s=0)
    with ChatStore.open(lw_home) as store:
        chat = store.create_chat("brenna")
        theirs = store.add_message(chat.id, "assistant", "Half a", status="streaming")
        ours = store.add_message(chat.id, "assistant", "Still going", status="streaming")
    raw = sqlite3.connect(lw_home.database)
    raw.execute("UPDATE messages SET writer = ? WHERE id = ?", (token, theirs.id))
    raw.commit()
    raw.close()

    with ChatStore.open(lw_home) as store:  # the other writer still runs: nothing to recover
        assert store.recovered == []
    sleeper.kill()
    deadline = time.monotonic() + 10
    while writer_alive(token, age_s=0) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert os.path.exists(f"/proc/{sleeper.pid}")  # not reaped yet: a zombie counts as dead
    assert not writer_alive(token, age_s=0)
    sleeper.wait()
    assert not writer_alive(token, age_s=0)
    with ChatStore.open(lw_home) as store:
        assert store.recovered == [theirs.id]
        assert store.get_message(theirs.id).status == "interrupted"
        assert store.get_message(theirs.id).content == "Half a"
        assert store.get_message(ours.id).status == "streaming"  # this process is alive


CHILD = textwrap.dedent(
    """
    import json, sys, time
    from app.engine.base import Sampling
    from app.engine.llamacpp import load_engine
    from app.models import resolve_model
    from app.home import home
    from app.memory.store import ReplyWriter
    from app.memory.store import ChatStore
    from app.prompts.segments import Prompt

    def say(**fields):
        print(json.dumps(fields), flush=True)

    where = home()
    store = ChatStore.open(where)
    chat = store.create_chat("brenna")
    user = store.add_message(chat.id, "user", "Tell me a very long story about every sword.")
    engine = load_engine(resolve_model(where, None), n_threads=1, n_ctx_cap=2048)
    writer = ReplyWriter(store, chat.id, name="Brenna",
                         on_flush=lambda text: say(t=time.monotonic(), text=text))
    say(user=user.id, reply=writer.message_id)
    # However short the model's own story is on this machine's build, the reply goes on (each
    # time it ends, it is nudged to continue) until the parent kills this process mid-reply.
    text = ""
    for _ in range(200):
        generation = engine.generate(Prompt.markup(sys.argv[1] + text),
                                     Sampling(seed=3, max_tokens=1500))
        for piece in generation:
            writer.append(piece)
            text += piece
        nudge = " And then, "
        writer.append(nudge)
        text += nudge
    writer.complete(generation)
    say(done=True)
    """
)


def test_sigkill_mid_reply_loses_at_most_the_last_flush(story_prompt: str, lw_home: Home) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, story_prompt],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=dict(os.environ),
    )
    watchdog = threading.Timer(120, proc.kill)
    watchdog.start()
    try:
        assert proc.stdout is not None
        events = [json.loads(proc.stdout.readline())]
        assert "reply" in events[0], proc.stderr.read() if proc.stderr else ""
        while sum("text" in e for e in events) < 3:
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else ""
            events.append(json.loads(line))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        events += [json.loads(line) for line in proc.stdout.read().splitlines()]
    finally:
        watchdog.cancel()
    assert proc.returncode == -signal.SIGKILL
    assert not any("done" in e for e in events), "the reply finished before the kill"
    ids = events[0]
    flushes = [e for e in events if "text" in e]
    # Saves come at most ~0.5 s apart, so the text at risk is well under a second's worth.
    gaps = [b["t"] - a["t"] for a, b in zip(flushes, flushes[1:], strict=False)]
    assert gaps and max(gaps) <= 1.0
    assert all(b["text"].startswith(a["text"]) for a, b in zip(flushes, flushes[1:], strict=False))

    raw = sqlite3.connect(lw_home.database)
    assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    raw.close()
    with ChatStore.open(lw_home) as store:
        assert store.recovered == [ids["reply"]]
        user = store.get_message(ids["user"])
        reply = store.get_message(ids["reply"])
        assert user.content == "Tell me a very long story about every sword."
        assert reply.status == "interrupted" and reply.parent_id == user.id
        # What was saved is the last checkpoint the child reported (or one it committed just
        # before the kill and had no time to report), never less and never garbled.
        assert reply.content.startswith(flushes[-1]["text"]) and reply.content
        assert [m.id for m in store.active_path(reply.chat_id)] == [user.id, reply.id]
