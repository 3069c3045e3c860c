"""`loreweaver models add-remote | remove` and the remote rows of `models`: bad input is one
line naming the field, a damaged remotes file one line naming the file; SSE parsing."""

from __future__ import annotations

import json

import pytest
from engine.remote.protocol_stub import ProtocolStub
from support import one_line_error, run_cli

from app.engine.remote.sse import sse_data
from app.home import Home
from app.models import load_remotes


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("bad name!", "--base-url", "http://x:1"), "name"),
        (("ok", "--base-url", "ftp://x"), "base_url"),
        (("ok", "--base-url", "http://x:1", "--api-key-env", "sk-123 key"), "api_key_env"),
        (("ok", "--base-url", "http://x:1", "--template", "klingon"), "--template"),
        (("ok", "--base-url", "http://x:1", "--n-ctx", "12"), "n_ctx"),
    ],
)
def test_add_remote_refuses_bad_input_in_one_line(
    args: tuple[str, ...], says: str, lw_home: Home
) -> None:
    line = one_line_error(run_cli("models", "add-remote", *args))
    assert says in line
    assert not (lw_home.root / "remotes.yaml").exists()


def test_add_list_remove_a_remote(stub: ProtocolStub, lw_home: Home) -> None:
    added = run_cli("models", "add-remote", "gpu-box", "--base-url", stub.url + "/v1/")
    assert added.returncode == 0, added.stderr
    assert "reachable, model stub-model.gguf, context 2048, format chatml, 4 slots" in added.stdout
    assert load_remotes(lw_home)[0].base_url == stub.url  # trailing /v1/ dropped
    again = one_line_error(run_cli("models", "add-remote", "gpu-box", "--base-url", stub.url))
    assert "exists" in again

    table = run_cli("models")
    assert table.returncode == 0 and "Remote models" in table.stdout and "gpu-box" in table.stdout
    stub.close()
    rows = json.loads(run_cli("models", "--json").stdout)
    row = next(r for r in rows if r["id"] == "gpu-box")
    assert row["reachable"] is False and "connection refused" in row["problem"]

    assert "no remote model named 'other'" in one_line_error(run_cli("models", "remove", "other"))
    assert run_cli("models", "remove", "gpu-box").returncode == 0
    assert load_remotes(lw_home) == []


def test_a_damaged_remotes_file_is_one_line_naming_it(lw_home: Home) -> None:
    path = lw_home.root / "remotes.yaml"
    path.write_text("remotes:\n  - name: x\n    base_url: 12\n    colour: red\n")
    line = one_line_error(run_cli("models"))
    assert str(path) in line
    line = one_line_error(run_cli("chat", "brenna", "--model", "x", "--say", "hi"))
    assert str(path) in line


def test_sse_events_join_data_lines_and_skip_comments_and_half_events() -> None:
    lines = [
        b": ping\n",
        b"event: message\n",
        b'data: {"a":\n',
        b"data:1}\r\n",
        b"\n",
        b"data: [DONE]\n",
        b"\n",
        b'error: {"code": 400}\n',  # llama-server, once its stream has begun
        b"\n",
        b"event: error\n",
        b"data: x\n",
        b"\n",
        b"data: cut off",
    ]
    assert list(sse_data(lines)) == [
        ('{"a":\n1}', False),
        ("[DONE]", False),
        ('{"code": 400}', True),
        ("x", True),
    ]
