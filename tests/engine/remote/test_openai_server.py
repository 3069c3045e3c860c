"""The remote engine against a real OpenAI-compatible server: llama-cpp-python's own server on
the bundled SmolLM2, started on 127.0.0.1 by the fixture (real model, real SQLite, real CLI)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from engine.remote.chat_proxy import ChatOnlyProxy
from engine.remote.servers import RunningServer, evaluated_per_request, start_openai_server
from support import one_line_error, run_cli

from app.engine.base import Sampling
from app.engine.remote.engine import RemoteEngine
from app.engine.remote.http import RemoteError
from app.engine.remote.parallel import Request, generate_all
from app.engine.remote.resolve import remote_info
from app.errors import LoreweaverError
from app.home import Home
from app.memory.store import ChatStore
from app.models import RemoteModel, add_remote
from app.npc.barks import BarkJob, generate_barks
from app.prompts.formats import choose_format
from app.prompts.segments import Prompt
from app.session_start import resolve_setup, sampling_from, start_session
from app.settings import SamplingSettings, Settings, load_settings
from app.sheets.sheet import Sheet

STORY = Prompt.markup(
    "<|im_start|>user\nTell me a long story about a lighthouse keeper.<|im_end|>\n"
    "<|im_start|>assistant\n"
)
SETTINGS = Settings(sampling=SamplingSettings(temperature=0.7, max_tokens=24, seed=11))
TURNS = int(os.environ.get("LW_REMOTE_TURNS", "6"))
"""The issue's long chat is 30 turns; 6 keep this module quick (set LW_REMOTE_TURNS=30)."""


@pytest.fixture(scope="module")
def remote_engine(openai_server: RunningServer) -> Iterator[RemoteEngine]:
    remote = openai_server.remote()
    with RemoteEngine(remote_info(remote), remote) as engine:
        yield engine


def _sheet() -> Sheet:
    return Sheet(name="Orla", description="Keeper of the archive.", first_message="Orla looks up.")


def test_the_cli_lists_and_chats_through_a_remote_model(
    openai_server: RunningServer, lw_home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    added = run_cli(
        *("models", "add-remote", "studio", "--base-url", openai_server.url, "--api", "openai"),
        *("--template", "chatml", "--api-key-env", "STUDIO_KEY"),
        timeout=60,
    )
    assert added.returncode == 0, added.stderr
    missing_key = run_cli("chat", "brenna", "--model", "studio", "--say", "Hello")
    assert "set the environment variable STUDIO_KEY" in one_line_error(missing_key)
    monkeypatch.setenv("STUDIO_KEY", "not-checked-by-this-server")
    listed = run_cli("models", "--json")
    row = next(r for r in json.loads(listed.stdout) if r["id"] == "studio")
    assert (row["reachable"], row["family"], row["api"]) == (True, "chatml", "openai")
    assert "SmolLM2" in row["model"]
    saved = (lw_home.root / "remotes.yaml").read_text()
    assert "STUDIO_KEY" in saved and "not-checked" not in saved
    said = run_cli(
        *("chat", "brenna", "--model", "studio", "--say", "Hello there", "--seed", "3"),
        *("--max-tokens", "16"),
    )
    assert said.returncode == 0, said.stderr
    store = ChatStore.open(lw_home)
    try:
        chat = store.list_chats("brenna")[0]
        reply = store.active_path(chat.id)[-1]
    finally:
        store.close()
    assert reply.role == "assistant" and reply.status == "complete" and reply.content
    assert reply.content in said.stdout
    assert reply.meta["model"] == "studio" and reply.meta["seed"] == 3


def test_a_reply_streams_in_pieces_and_ends_at_a_stop_string(remote_engine: RemoteEngine) -> None:
    sampling = Sampling(temperature=0.7, seed=5, max_tokens=40)
    "".join(remote_engine.generate(STORY, sampling))  # the prompt cached, as for those below
    generation = remote_engine.generate(STORY, sampling)
    pieces = list(generation)
    reference = generation.text
    assert len(pieces) > 5 and "".join(pieces) == reference
    words = re.findall(r"[A-Za-z]{4,}", reference)
    assert len(words) >= 3, reference
    stop = words[len(words) // 2]
    stopped = remote_engine.generate(STORY, sampling, stop=[stop])
    text = "".join(stopped)
    assert text == reference[: reference.index(stop)]
    assert stopped.stats.finish_reason == "stop"


def test_same_seed_same_reply(remote_engine: RemoteEngine) -> None:
    sampling = Sampling(temperature=0.9, seed=1234, max_tokens=30)
    "".join(remote_engine.generate(STORY, sampling))  # same cache state for the two below
    first = "".join(remote_engine.generate(STORY, sampling))
    second = "".join(remote_engine.generate(STORY, sampling))
    assert first and first == second


def test_cancel_mid_reply_stops_the_server(
    remote_engine: RemoteEngine, openai_server: RunningServer
) -> None:
    openai_server.new_log()
    generation = remote_engine.generate(STORY, Sampling(seed=9, max_tokens=400))
    for count, _piece in enumerate(generation, 1):
        if count == 3:
            generation.cancel()
    assert generation.stats.finish_reason == "cancelled"
    assert 0 < len(generation.text) < 100
    after = "".join(remote_engine.generate(STORY, Sampling(seed=9, max_tokens=4)))
    assert after
    log = openai_server.new_log()
    assert "Disconnected from client" in log
    runs = [int(n) for n in re.findall(r"eval time = .*/\s*(\d+) runs", log)]
    assert runs and max(runs) < 50  # only the short request ran to its end


def test_a_structured_reply_follows_the_schema(remote_engine: RemoteEngine) -> None:
    schema = {
        "type": "object",
        "properties": {"mood": {"type": "string", "enum": ["calm", "angry", "afraid"]}},
        "required": ["mood"],
    }
    prompt = Prompt.markup(
        "<|im_start|>user\nHow does the keeper feel? Answer in JSON.<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    generation = remote_engine.generate(
        prompt, Sampling(seed=2, max_tokens=30, temperature=0.8), schema=schema
    )
    reply = json.loads("".join(generation))
    assert reply["mood"] in ("calm", "angry", "afraid")


def test_a_long_chat_evaluates_only_the_new_tokens_each_turn(
    remote_engine: RemoteEngine, openai_server: RunningServer
) -> None:
    info = remote_engine.info
    session = start_session(
        remote_engine, info, choose_format(None, info), _sheet(), "orla", SETTINGS
    )
    sampling = Sampling(temperature=0.7, max_tokens=24, seed=11)
    previous_tokens = 0
    figures = []
    openai_server.new_log()
    for turn in range(TURNS):
        reply = session.send(f"Tell me about shelf {turn}.", sampling)
        reply.finish()
        prompt_tokens = remote_engine.count_tokens(session.last_prompt)
        evaluated = evaluated_per_request(openai_server.new_log())
        assert len(evaluated) == 1
        figures.append((prompt_tokens, evaluated[0]))
        if turn:
            # the cache holds the previous prompt (and reply): only what follows it is new
            assert evaluated[0] <= prompt_tokens - previous_tokens + 4, figures
            assert evaluated[0] < prompt_tokens // 2, figures
        previous_tokens = prompt_tokens
    print("per-turn (prompt tokens, evaluated by the server):", figures)


def test_parallel_requests_come_back_in_order(remote_engine: RemoteEngine) -> None:
    requests = [Request(STORY, Sampling(seed=seed, max_tokens=8)) for seed in (1, 2, 3, 4)]
    results = generate_all(remote_engine, requests, parallel=4)
    assert [r.error for r in results] == [None] * 4
    assert all(r.text and r.stats.completion_tokens for r in results)


def test_a_server_killed_mid_reply_keeps_the_partial_reply(tmp_path: Path, lw_home: Home) -> None:
    server = start_openai_server(tmp_path / "dying.log")
    store = ChatStore.open(lw_home)
    try:
        remote = server.remote("dying")
        engine = RemoteEngine(remote_info(remote), remote)
        session = start_session(
            engine,
            engine.info,
            choose_format(None, engine.info),
            _sheet(),
            "orla",
            SETTINGS,
            store=store,
        )
        reply = session.send("Tell me the longest story you know.", Sampling(max_tokens=400))
        with pytest.raises(RemoteError) as raised:
            for count, _piece in enumerate(reply, 1):
                if count == 3:
                    server.process.kill()
        reply.finish()
        assert "server 'dying'" in str(raised.value) and "\n" not in str(raised.value)
        assert session.chat is not None
        stored = store.active_path(session.chat.id)[-1]
        assert stored.status == "interrupted"
        assert stored.content and stored.content == reply.text.strip()
    finally:
        store.close()
        server.stop()


def test_a_chat_only_server_gets_the_turns_and_keeps_stops_seeds_and_cancel(
    openai_server: RunningServer,
) -> None:
    proxy = ChatOnlyProxy(openai_server.url)
    try:
        raw = RemoteModel(name="rawless", base_url=proxy.url, api="openai", template="chatml")
        with pytest.raises(RemoteError, match=r"HTTP 404.*add it again with --api openai-chat"):
            RemoteEngine(remote_info(raw), raw).generate(STORY, Sampling(max_tokens=4))
        remote = raw.model_copy(update={"api": "openai-chat"})
        engine = RemoteEngine(remote_info(remote), remote)
        assert "its own template decides the prompt format" in engine.notes[0]
        session = start_session(
            engine, engine.info, choose_format(None, engine.info), _sheet(), "orla", SETTINGS
        )
        assert engine.notes[0] in session.notices
        sampling = Sampling(temperature=0.8, seed=21, max_tokens=40)
        session.send("Tell me a long story about the archive.", sampling).finish()
        assert isinstance(session.last_prompt, Prompt)
        turns = [{"role": m.role, "content": m.content} for m in session.last_prompt.messages]
        sent = proxy.bodies("/v1/chat/completions")[-1]
        assert sent["messages"] == turns and "prompt" not in sent
        assert turns[0]["role"] == "system" and "Keeper of the archive." in turns[0]["content"]
        assert turns[-1] == {"role": "user", "content": "Tell me a long story about the archive."}
        assert (sent["seed"], sent["max_tokens"]) == (21, 40)

        first = "".join(engine.generate(session.last_prompt, sampling))
        again = "".join(engine.generate(session.last_prompt, sampling))
        assert first and first == again
        words = re.findall(r"[A-Za-z]{4,}", first)
        assert len(words) >= 3, first
        stop = words[len(words) // 2]
        stopped = engine.generate(session.last_prompt, sampling, stop=[stop])
        assert "".join(stopped) == first[: first.index(stop)]
        assert stopped.stats.finish_reason == "stop"

        long = engine.generate(session.last_prompt, Sampling(seed=3, max_tokens=400))
        for count, _piece in enumerate(long, 1):
            if count == 3:
                long.cancel()
        assert long.stats.finish_reason == "cancelled" and 0 < len(long.text) < 100
        assert proxy.client_left.wait(10), "the stream stayed open after the cancel"
        with pytest.raises(LoreweaverError, match="takes chat turns only"):
            engine.generate(session.last_prompt + "Well,", sampling)
    finally:
        proxy.close()


def test_barks_in_parallel_are_the_set_made_one_at_a_time(
    openai_server: RunningServer, lw_home: Home
) -> None:
    add_remote(lw_home, openai_server.remote("smol"))
    remote_engine = RemoteEngine(
        remote_info(openai_server.remote("smol")), openai_server.remote("smol")
    )
    settings = load_settings(lw_home)
    _, sheet, info, fmt = resolve_setup(
        lw_home, settings, character="brenna", model="smol", template=None
    )
    job = BarkJob(sheet, fmt, "greet", 40, sampling_from(settings, seed=8, max_tokens=None), "smol")
    generate_barks(remote_engine, job, 1, 8)  # the server's cache then holds the bark prompt
    one_at_a_time = generate_barks(remote_engine, job, 4, 8)
    args = ("barks", "brenna", "--trigger", "greet", "--count", "4", "--seed", "8")
    side_by_side = run_cli(
        *args, "--max-chars", "40", "--model", "smol", "--parallel", "4", "--json"
    )
    assert side_by_side.returncode == 0, side_by_side.stderr
    rows = json.loads(side_by_side.stdout)
    assert [(b["seed"], b["text"]) for b in rows] == [(b.seed, b.text) for b in one_at_a_time]
    assert not remote_engine.cache_prompt  # barks ask the server to evaluate prompts whole
