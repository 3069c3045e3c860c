"""Model discovery: real GGUF metadata, broken files listed with a reason, never a crash."""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path
from typing import IO, Any

import ggufdata
import pytest
from support import run_cli

from app.errors import LoreweaverError
from app.home import Home
from app.models import (
    GGUFError,
    bundled_model_path,
    discover,
    read_header,
    read_model_info,
    resolve_model,
)


def tiny_gguf(version: int = 3, template: str | None = None, arch: str = "gemma2") -> bytes:
    """A header that passes every check, over weights llama.cpp cannot use."""
    extra = {} if template is None else {"tokenizer__chat_template": (ggufdata.STRING, template)}
    return ggufdata.gguf(ggufdata.model_kvs(arch, **extra), version=version)


def test_bundled_model_metadata() -> None:
    path = bundled_model_path()
    assert path is not None
    info = read_model_info(path, "bundled")
    assert info.usable and info.architecture == "llama" and info.context_length == 8192
    assert info.quantization == "Q4_1" and info.size_label == "135M"
    assert info.family == "chatml" and "<|im_start|>" in (info.chat_template or "")
    assert info.eos_token == "<|im_end|>" and info.add_bos is False


def test_hand_built_headers_v2_and_v3(tmp_path: Path) -> None:
    for version in (2, 3):
        path = tmp_path / f"tiny{version}.gguf"
        path.write_bytes(tiny_gguf(version, template="<start_of_turn>{{ x }}"))
        info = read_model_info(path, "path")
        assert info.usable, info.problem
        assert (info.name, info.context_length, info.quantization, info.family) == (
            "Tiny",
            2048,
            "Q4_K_M",
            "gemma",
        )


def test_broken_files_are_listed_with_a_reason(tmp_path: Path) -> None:
    real = bundled_model_path()
    assert real is not None
    head = real.open("rb").read(2_000_000)
    cases = {
        "empty.gguf": b"",
        "random.gguf": os.urandom(4096),
        "zip.gguf": b"PK\x03\x04" + os.urandom(100),
        "version.gguf": b"GGUF" + struct.pack("<IQQ", 7, 0, 0),
        "absurd.gguf": b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 2**60),
        **{f"cut{n}.gguf": head[:n] for n in (10, 24, 5000, 1_500_000)},
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        info = read_model_info(tmp_path / name, "path")
        assert not info.usable and info.problem, name
    truncated = tmp_path / "truncated_data.gguf"
    truncated.write_bytes(real.read_bytes()[:50_000_000])
    assert "truncated" in (read_model_info(truncated, "path").problem or "")


def _bytes_read(path: Path) -> int:
    """How many bytes reading `path`'s header reads (errors included)."""
    reads = []
    original = Path.open

    def counting_open(self: Path, *args: Any, **kwargs: Any) -> IO[Any]:
        handle = original(self, *args, **kwargs)
        real_read = handle.read

        def read(n: int = -1) -> Any:
            data = real_read(n)
            reads.append(len(data))
            return data

        handle.read = read
        return handle

    Path.open = counting_open  # type: ignore[method-assign,assignment]
    try:
        read_header(path)
    except GGUFError:
        pass
    finally:
        Path.open = original  # type: ignore[method-assign]
    return sum(reads)


def test_reading_metadata_does_not_read_the_weights() -> None:
    path = bundled_model_path()
    assert path is not None
    assert _bytes_read(path) < 5_000_000 < path.stat().st_size


def test_big_numeric_arrays_are_stepped_over_not_read(tmp_path: Path) -> None:
    path = tmp_path / "scores.gguf"
    n = 10_000_000  # 40 MB of f32, under every limit
    path.write_bytes(
        ggufdata.gguf(
            [
                *ggufdata.model_kvs(),
                ggufdata.string("scores")
                + struct.pack("<IIQ", ggufdata.ARRAY, ggufdata.F32, n)
                + bytes(4 * n),
            ]
        )
    )
    assert read_model_info(path, "path").usable
    assert _bytes_read(path) < 3_000_000


def test_header_errors_are_short_reasons(tmp_path: Path) -> None:
    path = tmp_path / "x.gguf"
    path.write_bytes(b"GGUF" + struct.pack("<I", 9))
    try:
        read_header(path)
    except GGUFError as exc:
        assert str(exc) == "unsupported GGUF version 9"
    else:
        raise AssertionError("no error")


def test_discover_and_models_json_with_a_broken_file(lw_home: Home) -> None:
    (lw_home.models / "broken.gguf").write_bytes(b"not a model")
    (lw_home.models / "tiny.gguf").write_bytes(tiny_gguf())
    ids = [m.id for m in discover(lw_home)]
    assert ids[0] == "SmolLM2-135M-Instruct.Q4_1" and "broken" in ids and "tiny" in ids
    assert next(m for m in discover(lw_home) if m.id == "tiny").usable  # as far as the header says
    with pytest.raises(LoreweaverError, match="unusable model: llama.cpp cannot load it"):
        resolve_model(lw_home, "tiny")  # the test load finds out, once
    result = run_cli("models", "--json")
    assert result.returncode == 0 and "Traceback" not in result.stderr
    rows = {row["id"]: row for row in json.loads(result.stdout)}
    assert rows["SmolLM2-135M-Instruct.Q4_1"]["usable"] is True
    assert rows["broken"]["usable"] is False and "not a GGUF file" in rows["broken"]["problem"]
    assert rows["tiny"]["usable"] is False and "llama.cpp" in rows["tiny"]["problem"]
    table = run_cli("models")
    assert table.returncode == 0 and "unusable" in table.stdout


def test_a_native_abort_is_caught_by_the_test_load_and_remembered(
    tmp_path: Path, lw_home: Home
) -> None:
    from app.models import probe

    real = bundled_model_path()
    assert real is not None
    zero = tmp_path / "zero.gguf"
    zero.write_bytes(ggufdata.patched(real, "llama.block_count", 0))
    assert read_model_info(zero, "path").problem == "llama.block_count is 0 (must be > 0)"
    # past the header check, llama.cpp itself aborts: the child dies, this process does not
    assert probe.run_probe(zero, zero.stat().st_size) == (True, "llama.cpp aborted loading it")

    copy = tmp_path / "copy.gguf"
    copy.write_bytes(real.read_bytes())
    assert probe.cached_verdict(lw_home, copy) == (False, None)
    assert resolve_model(lw_home, str(copy)).usable
    assert probe.cached_verdict(lw_home, copy) == (True, None)  # the next start skips the probe
    os.utime(copy, ns=(0, 0))
    assert probe.cached_verdict(lw_home, copy) == (False, None)  # a changed file is tried again
