"""The native API against llama.cpp's own `llama-server` on the bundled SmolLM2: a check run by
hand, named on the command line with `LW_LLAMA_SERVER` set to the binary (CI does not build it;
see the README), so it is not collected with the suite (not `test_*.py`), and without a binary
it fails saying so. What the protocol stub stands in for in CI is checked here for real.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from engine.remote.servers import RunningServer, start_llama_server
from support import run_cli

from app.engine.base import Sampling
from app.engine.remote.engine import RemoteEngine
from app.engine.remote.http import RemoteError
from app.engine.remote.resolve import remote_info
from app.errors import LoreweaverError
from app.home import Home
from app.memory.store import ChatStore
from app.models import RemoteModel, add_remote
from app.prompts.formats import choose_format
from app.prompts.segments import Prompt
from app.session_start import start_session
from app.settings import SamplingSettings, Settings
from app.sheets.sheet import Sheet

BINARY = os.environ.get("LW_LLAMA_SERVER", "")
if not BINARY or not Path(BINARY).is_file():
    pytest.fail("set LW_LLAMA_SERVER to a llama-server binary to run this check", pytrace=False)
STORY = Prompt.markup(
    "<|im_start|>user\nTell me a long story about a lighthouse keeper.<|im_end|>\n"
    "<|im_start|>assistant\n"
)
SLOTS = 2
SETTINGS = Settings(sampling=SamplingSettings(temperature=0.7, max_tokens=24, seed=11))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_llama_server(
        BINARY, tmp_path_factory.mktemp("llama-server") / "server.log", slots=SLOTS
    )
    yield running
    running.stop()


@pytest.fixture(scope="module")
def engine(server: RunningServer) -> Iterator[RemoteEngine]:
    remote = RemoteModel(name="native", base_url=server.url)
    with RemoteEngine(remote_info(remote), remote) as running:
        yield running


def _sheet(name: str = "Orla") -> Sheet:
    return Sheet(name=name, description=f"{name} keeps the archive.", first_message="Hello.")


def test_props_and_tokenize_describe_the_real_server(engine: RemoteEngine) -> None:
    info = engine.info
    assert (info.family, info.source, engine.server_info.slots) == ("chatml", "remote", SLOTS)
    assert info.name.endswith(".gguf") and engine.n_ctx == 4096  # per slot
    assert info.chat_template and "<|im_start|>" in info.chat_template
    tokens = engine.tokenize(STORY)
    whole = engine.server.request_json("POST", "/tokenize", {"content": str(STORY)})["tokens"]
    assert tokens == whole  # markup tokenized with its control tokens, as the server does
    forged = Prompt.markup("<|im_start|>user\n") + "<|im_end|>"  # text: no control token
    assert engine.tokenize(forged)[-1] not in engine.tokenize(Prompt.markup("<|im_end|>"))
    generation = engine.generate(STORY, Sampling(seed=1, max_tokens=4))
    "".join(generation)
    assert generation.stats.prompt_tokens == len(tokens)


def test_stream_stop_seed_grammar_and_cancel(engine: RemoteEngine, server: RunningServer) -> None:
    sampling = Sampling(temperature=0.9, seed=5, max_tokens=40)
    # measured: the first reply this long after the server starts differs from the same request
    # made again (any slot, prompt cached or not); from then on a seed gives the same reply
    "".join(engine.generate(STORY, sampling))
    generation = engine.generate(STORY, sampling)
    pieces = list(generation)
    reference = generation.text
    assert len(pieces) > 5 and "".join(pieces) == reference
    engine.cache_prompt = False
    try:  # evaluated whole, in whichever slot: the same reply
        assert "".join(engine.generate(STORY, sampling)) == reference
    finally:
        engine.cache_prompt = True
    words = re.findall(r"[A-Za-z]{4,}", reference)
    stop = words[len(words) // 2]
    stopped = engine.generate(STORY, sampling, stop=[stop])
    assert "".join(stopped) == reference[: reference.index(stop)]
    assert (stopped.stats.finish_reason, stopped.stats.stopped_by) == ("stop", stop)

    schema = {
        "type": "object",
        "properties": {"mood": {"type": "string", "enum": ["calm", "angry"]}},
        "required": ["mood"],
    }
    shaped = json.loads("".join(engine.generate(STORY, sampling, schema=schema)))
    assert shaped["mood"] in ("calm", "angry")
    gbnf = 'root ::= "Aye" [a-z ]{1,20} "."'
    assert re.fullmatch(
        r"Aye[a-z ]{1,20}\.", "".join(engine.generate(STORY, sampling, grammar=gbnf))
    )

    server.new_log()
    long = engine.generate(STORY, replace(sampling, max_tokens=2000))
    for count, _piece in enumerate(long, 1):
        if count == 3:
            long.cancel()
    assert long.stats.finish_reason == "cancelled" and long.text
    "".join(engine.generate(STORY, Sampling(seed=1, max_tokens=2)))  # after the cancelled one
    log = server.new_log()
    assert "cancel task" in log
    ends = [int(n) for n in re.findall(r"stop processing: n_past = (\d+)", log)]
    assert ends and max(ends) < len(engine.tokenize(STORY)) + 100, ends  # stopped soon after


def test_two_chats_keep_their_own_slots(engine: RemoteEngine) -> None:
    sessions = [
        start_session(engine, engine.info, choose_format(None, engine.info), _sheet(n), n, SETTINGS)
        for n in ("Orla", "Bram")
    ]
    sampling = Sampling(temperature=0.7, seed=3, max_tokens=16)
    evaluated: list[tuple[int, int]] = []
    for turn in range(3):
        for session in sessions:  # interleaved: each chat's turn follows the other's
            reply = session.send(f"Tell me about shelf {turn}.", sampling)
            reply.finish()
            evaluated.append((reply.stats.prompt_tokens, reply.stats.evaluated_tokens))
    for prompt_tokens, count in evaluated[2:]:
        assert count < prompt_tokens // 2, evaluated  # its slot held the chat so far


def test_cli_chat_and_a_server_killed_mid_stream(
    server: RunningServer, lw_home: Home, tmp_path: Path
) -> None:
    add_remote(lw_home, RemoteModel(name="native", base_url=server.url))
    said = run_cli("chat", "brenna", "--model", "native", "--say", "Hello", "--max-tokens", "12")
    assert said.returncode == 0, said.stderr

    dying = start_llama_server(BINARY, tmp_path / "dying.log")
    store = ChatStore.open(lw_home)
    try:
        remote = RemoteModel(name="dying", base_url=dying.url)
        engine = RemoteEngine(remote_info(remote), remote)
        session = start_session(
            engine, engine.info, choose_format(None, engine.info), _sheet(), "orla", SETTINGS,
            store=store,
        )  # fmt: skip
        reply = session.send("Tell me the longest story you know.", Sampling(max_tokens=2000))
        with pytest.raises(RemoteError) as raised:
            for count, _piece in enumerate(reply, 1):
                if count == 3:
                    dying.process.kill()
        reply.finish()
        assert "server 'dying'" in str(raised.value) and "\n" not in str(raised.value)
        assert session.chat is not None
        stored = store.active_path(session.chat.id)[-1]
        assert stored.status == "interrupted" and stored.content == reply.text.strip()
    finally:
        store.close()
        dying.stop()


def test_a_prompt_beyond_the_context_is_one_line(engine: RemoteEngine) -> None:
    huge = Prompt.markup(
        "<|im_start|>user\n" + "word " * 6000 + "<|im_end|>\n<|im_start|>assistant\n"
    )
    with pytest.raises(
        LoreweaverError, match=r"the prompt is \d+ tokens, more than the server's context of 4096"
    ):
        engine.generate(huge, Sampling(max_tokens=4))  # the server would cut its middle out
