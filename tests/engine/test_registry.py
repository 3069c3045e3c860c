"""Model discovery: real GGUF metadata, broken files listed with a reason, never a crash."""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

from support import run_cli

from app.engine.gguf import GGUFError, read_header
from app.engine.registry import bundled_model_path, discover, read_model_info, resolve_model
from app.home import Home


def _string(text: str) -> bytes:
    data = text.encode()
    return struct.pack("<Q", len(data)) + data


def tiny_gguf(version: int = 3, template: str | None = None, arch: str = "gemma2") -> bytes:
    kvs = [("general.architecture", 8, _string(arch)), ("general.name", 8, _string("Tiny")),
           (f"{arch}.context_length", 4, struct.pack("<I", 2048)),
           ("general.file_type", 4, struct.pack("<I", 15))]
    if template is not None:
        kvs.append(("tokenizer.chat_template", 8, _string(template)))
    body = b"".join(_string(k) + struct.pack("<I", t) + v for k, t, v in kvs)
    return b"GGUF" + struct.pack("<IQQ", version, 0, len(kvs)) + body


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
            "Tiny", 2048, "Q4_K_M", "gemma")


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


def test_reading_metadata_does_not_read_the_weights() -> None:
    path = bundled_model_path()
    assert path is not None
    reads = []
    original = Path.open

    def counting_open(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        handle = original(self, *args, **kwargs)
        real_read = handle.read

        def read(n=-1):  # type: ignore[no-untyped-def]
            data = real_read(n)
            reads.append(len(data))
            return data

        handle.read = read
        return handle

    Path.open = counting_open  # type: ignore[method-assign]
    try:
        read_header(path)
    finally:
        Path.open = original  # type: ignore[method-assign]
    assert sum(reads) < 5_000_000 < path.stat().st_size


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
    assert resolve_model(lw_home, "tiny").name == "Tiny"
    result = run_cli("models", "--json")
    assert result.returncode == 0 and "Traceback" not in result.stderr
    rows = {row["id"]: row for row in json.loads(result.stdout)}
    assert rows["SmolLM2-135M-Instruct.Q4_1"]["usable"] is True
    assert rows["broken"]["usable"] is False and "not a GGUF file" in rows["broken"]["problem"]
    table = run_cli("models")
    assert table.returncode == 0 and "unusable" in table.stdout
