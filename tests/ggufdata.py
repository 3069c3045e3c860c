"""Building GGUF files byte by byte for tests (importable as `ggufdata`: `tests/` is on the path).

`gguf(...)` writes a header from typed values; `patched(real, key, value)` copies a real model
with one u32 metadata value changed in place, so llama.cpp itself gets to read the result.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path
from typing import cast

U8, I8, U16, I16, U32, I32, F32, BOOL, STRING, ARRAY, U64, I64, F64 = range(13)
_FORMATS = {
    U8: "<B",
    I8: "<b",
    U16: "<H",
    I16: "<h",
    U32: "<I",
    I32: "<i",
    F32: "<f",
    BOOL: "<?",
    U64: "<Q",
    I64: "<q",
    F64: "<d",
}


def string(text: str | bytes) -> bytes:
    data = text.encode() if isinstance(text, str) else text
    return struct.pack("<Q", len(data)) + data


def value(kind: int, item: object) -> bytes:
    """The bytes of one typed value; an array is `(item_type, [items])`."""
    if kind == STRING:
        return string(cast("str | bytes", item))
    if kind == ARRAY:
        item_type, items = cast("tuple[int, Sequence[object]]", item)
        return struct.pack("<IQ", item_type, len(items)) + b"".join(
            value(item_type, x) for x in items
        )
    return struct.pack(_FORMATS[kind], item)


def kv(key: str, kind: int, item: object) -> bytes:
    return string(key) + struct.pack("<I", kind) + value(kind, item)


def tensor(name: str, shape: list[int], ggml_type: int = 0, offset: int = 0) -> bytes:
    return (
        string(name)
        + struct.pack("<I", len(shape))
        + b"".join(struct.pack("<Q", n) for n in shape)
        + struct.pack("<IQ", ggml_type, offset)
    )


def model_kvs(arch: str = "llama", /, **overrides: tuple[int, object] | None) -> list[bytes]:
    """The metadata a small llama-like model needs; `overrides` replace (or with None drop)
    entries, keyed by the name with dots as double underscores (`llama__block_count`)."""
    entries: dict[str, tuple[int, object]] = {
        "general.architecture": (STRING, arch),
        "general.name": (STRING, "Tiny"),
        "general.file_type": (U32, 15),
        f"{arch}.block_count": (U32, 1),
        f"{arch}.context_length": (U32, 2048),
        f"{arch}.embedding_length": (U32, 32),
        f"{arch}.attention.head_count": (U32, 4),
        f"{arch}.attention.head_count_kv": (U32, 2),
        "tokenizer.ggml.model": (STRING, "gpt2"),
        "tokenizer.ggml.tokens": (ARRAY, (STRING, ["<s>", "</s>", "a", "b"])),
        "tokenizer.ggml.bos_token_id": (U32, 0),
        "tokenizer.ggml.eos_token_id": (U32, 1),
    }
    for name, replacement in overrides.items():
        key = name.replace("__", ".")
        if replacement is None:
            entries.pop(key, None)
        else:
            entries[key] = replacement
    return [kv(k, t, v) for k, (t, v) in entries.items()]


def gguf(
    kvs: list[bytes],
    tensors: list[bytes] | None = None,
    *,
    version: int = 3,
    data: bytes | None = None,
    tensor_count: int | None = None,
    kv_count: int | None = None,
) -> bytes:
    """A whole file: header, metadata, tensor index, padding to 32 and `data` (zeros by default,
    enough for one 32-element f32 tensor at offset 0)."""
    tensors = [tensor("t", [32])] if tensors is None else tensors
    head = b"GGUF" + struct.pack(
        "<IQQ",
        version,
        len(tensors) if tensor_count is None else tensor_count,
        len(kvs) if kv_count is None else kv_count,
    )
    body = head + b"".join(kvs) + b"".join(tensors)
    body += b"\0" * (-len(body) % 32)
    return body + (bytes(128) if data is None else data)


def patched(real: Path, key: str, new_value: int) -> bytes:
    """`real`'s bytes with the u32 metadata value `key` set to `new_value`."""
    data = bytearray(real.read_bytes())
    name = string(key)
    at = data.index(name) + len(name)
    assert struct.unpack_from("<I", data, at)[0] == U32, key
    struct.pack_into("<I", data, at + 4, new_value)
    return bytes(data)
