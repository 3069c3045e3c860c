"""GGUF files for hostile tests: a tiny header-only file, or the bundled model with another chat
template (a loadable file: header rewritten, tensor data moved to the new aligned offset)."""

from __future__ import annotations

import struct
from pathlib import Path

_SCALAR_SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
_STRING, _ARRAY = 8, 9
TEMPLATE_KEY = "tokenizer.chat_template"


def _string(text: str) -> bytes:
    data = text.encode("utf-8", "surrogatepass")
    return struct.pack("<Q", len(data)) + data


def tiny(template: str, *, name: str = "Tiny") -> bytes:
    """A small llama file (header, a tokenizer, one 4-byte tensor) that passes the registry's
    header checks, so it is listed with its template; it holds no usable weights."""
    tokens = ["<s>", "</s>", "a"]
    token_list = struct.pack("<IQ", _STRING, len(tokens)) + b"".join(_string(t) for t in tokens)
    kvs = [
        ("general.architecture", _STRING, _string("llama")),
        ("general.name", _STRING, _string(name)),
        ("llama.context_length", 4, struct.pack("<I", 2048)),
        ("llama.block_count", 4, struct.pack("<I", 1)),
        ("llama.embedding_length", 4, struct.pack("<I", 64)),
        ("llama.attention.head_count", 4, struct.pack("<I", 1)),
        ("general.file_type", 4, struct.pack("<I", 3)),
        ("tokenizer.ggml.model", _STRING, _string("llama")),
        ("tokenizer.ggml.tokens", _ARRAY, token_list),
        (TEMPLATE_KEY, _STRING, _string(template)),
    ]
    body = b"".join(_string(k) + struct.pack("<I", t) + v for k, t, v in kvs)
    # one tensor: name, 1 dimension of 1, type F32 (0), offset 0 in the data section
    tensor = _string("token_embd.weight") + struct.pack("<IQIQ", 1, 1, 0, 0)
    header = b"GGUF" + struct.pack("<IQQ", 3, 1, len(kvs)) + body + tensor
    return header + b"\0" * (-len(header) % 32) + b"\0" * 4


def _skip_value(data: bytes, at: int, kind: int) -> int:
    if kind in _SCALAR_SIZES:
        return at + _SCALAR_SIZES[kind]
    if kind == _STRING:
        (length,) = struct.unpack_from("<Q", data, at)
        return at + 8 + length
    item, count = struct.unpack_from("<IQ", data, at)
    at += 12
    if item in _SCALAR_SIZES:
        return at + count * _SCALAR_SIZES[item]
    for _ in range(count):
        at = _skip_value(data, at, item)
    return at


def with_template(model: Path, template: str) -> bytes:
    """`model`'s bytes with its chat template replaced (added if it had none)."""
    data = model.read_bytes()
    version, n_tensors, n_kv = struct.unpack_from("<IQQ", data, 4)
    at, kvs, alignment = 24, [], 32
    for _ in range(n_kv):
        (length,) = struct.unpack_from("<Q", data, at)
        key = data[at + 8 : at + 8 + length].decode()
        (kind,) = struct.unpack_from("<I", data, at + 8 + length)
        end = _skip_value(data, at + 12 + length, kind)
        if key == "general.alignment":
            (alignment,) = struct.unpack_from("<I", data, at + 12 + length)
        if key != TEMPLATE_KEY:
            kvs.append(data[at:end])
        at = end
    kvs.append(_string(TEMPLATE_KEY) + struct.pack("<I", _STRING) + _string(template))
    infos_start = at
    for _ in range(n_tensors):
        (length,) = struct.unpack_from("<Q", data, at)
        at += 8 + length
        (dims,) = struct.unpack_from("<I", data, at)
        at += 4 + 8 * dims + 4 + 8
    old_data = -(-at // alignment) * alignment
    header = (
        b"GGUF"
        + struct.pack("<IQQ", version, n_tensors, len(kvs))
        + b"".join(kvs)
        + data[infos_start:at]
    )
    padding = -len(header) % alignment
    return header + b"\0" * padding + data[old_data:]
