"""KV state files: a chat's evaluated prompt saved so reopening it need not re-read the history.

A state file is a cache, never the truth: it is used only when it provably belongs to the loaded
model file and this llama-cpp-python build, and is intact (a digest over everything after the
header); anything else makes `read_state_file` return None and the caller re-reads the prompt.
Layout: magic, 4-byte header length, JSON header, int32 token ids, llama.cpp's sequence state.
The sequence state (`llama_state_seq_get_data`) holds only the cells in use, so the file grows
with the chat, not with the context size.
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import asdict, dataclass
from pathlib import Path

from app.fsutil import write_bytes_atomic

MAGIC = b"LWKV\x01\n"
FORMAT_VERSION = 1
MAX_HEADER_BYTES = 64 * 1024
MAX_FILE_BYTES = 16 * 1024**3
_LEN = struct.Struct("<I")


@dataclass(frozen=True)
class ModelIdentity:
    """What must match for saved keys and values to be valid for the loaded model."""

    path: str
    size: int
    mtime_ns: int
    backend: str
    """The llama-cpp-python version: its state layout may change between releases."""
    adapters: str = ""
    """The LoRA adapters applied (`adapters.key`): keys and values depend on them too."""

    @classmethod
    def of(cls, model_path: Path, backend: str, adapters: str = "") -> ModelIdentity:
        stat = model_path.stat()
        return cls(str(model_path.resolve()), stat.st_size, stat.st_mtime_ns, backend, adapters)


@dataclass(frozen=True)
class SavedState:
    tokens: list[int]
    data: bytes
    n_ctx: int
    """The context size it was saved from (informational: any context that fits it works)."""


def _digest(tokens: bytes, data: bytes) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(tokens)
    h.update(data)
    return h.hexdigest()


def write_state_file(
    path: Path, identity: ModelIdentity, n_ctx: int, tokens: list[int], data: bytes
) -> int:
    """Write atomically; return the file's size in bytes."""
    token_bytes = struct.pack(f"<{len(tokens)}i", *tokens)
    header = {
        "format": FORMAT_VERSION,
        "model": asdict(identity),
        "n_ctx": n_ctx,
        "n_tokens": len(tokens),
        "data_bytes": len(data),
        "digest": _digest(token_bytes, data),
    }
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    blob = b"".join((MAGIC, _LEN.pack(len(head)), head, token_bytes, data))
    write_bytes_atomic(path, blob)
    return len(blob)


def read_state_file(path: Path, identity: ModelIdentity, max_tokens: int) -> SavedState | None:
    """The saved state if it is intact, for `identity`, and at most `max_tokens` long; else None."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return None
        with path.open("rb") as handle:
            if handle.read(len(MAGIC)) != MAGIC:
                return None
            (head_len,) = _LEN.unpack(handle.read(_LEN.size))
            if head_len > MAX_HEADER_BYTES:
                return None
            header = json.loads(handle.read(head_len).decode("utf-8"))
            if not isinstance(header, dict) or header.get("format") != FORMAT_VERSION:
                return None
            if header.get("model") != asdict(identity):
                return None
            n_tokens, data_bytes, n_ctx = (
                header.get(k) for k in ("n_tokens", "data_bytes", "n_ctx")
            )
            if not all(isinstance(v, int) and v >= 0 for v in (n_tokens, data_bytes, n_ctx)):
                return None
            assert isinstance(n_tokens, int) and isinstance(data_bytes, int)
            if not 0 < n_tokens <= max_tokens:
                return None
            if len(MAGIC) + _LEN.size + head_len + 4 * n_tokens + data_bytes != size:
                return None
            token_bytes = handle.read(4 * n_tokens)
            data = handle.read(data_bytes)
    except (OSError, ValueError, UnicodeDecodeError, struct.error):
        return None
    if _digest(token_bytes, data) != header.get("digest"):
        return None
    tokens = list(struct.unpack(f"<{n_tokens}i", token_bytes))
    return SavedState(tokens, data, int(n_ctx))  # type: ignore[arg-type]
