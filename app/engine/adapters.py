"""LoRA adapters: small GGUF files that shift a base model's voice, applied on the live context.

A character sheet names its adapters (a file and a scale). Switching characters swaps the
adapter set on the loaded context (llama.cpp's `llama_set_adapter_lora`) instead of reloading
the base model. Keys and values computed under one adapter set are wrong under another, so the
set is part of the KV cache's identity (`key`).

A file is checked here before llama.cpp reads it, so that the common mistakes (a missing file,
a model instead of an adapter, an adapter for another architecture) are one clear line; what
only llama.cpp can see (a tensor of the wrong size: another model of the same architecture) is
reported from its error.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.engine import quiet
from app.errors import LoreweaverError
from app.models import GGUFError, read_header
from app.sheets.sheet import MAX_ADAPTERS

LORA_TYPES = {0: "f32", 1: "f16", 8: "q8_0", 30: "bf16"}
"""The tensor types LoRA converters write; llama.cpp crashes (SIGSEGV) applying some others,
such as integer tensors, instead of refusing them."""
_TYPE_NAMES = ", ".join(LORA_TYPES.values())
ALPHA = "adapter.lora.alpha"
F32 = 6
"""GGUF's value type id of a 32-bit float."""


@dataclass(frozen=True)
class Adapter:
    """One LoRA file applied with `scale` (0 switches it off, 1 is the trained strength)."""

    path: Path
    scale: float = 1.0
    source: str = field(default="", compare=False)
    """Who named it ("model entry", "sheet"), for `prompt --explain`; not part of the set."""

    @property
    def label(self) -> str:
        """How the app shows it: the file name and the scale."""
        return f"{self.path.name}×{self.scale:g}"


def label(adapters: Sequence[Adapter], *, sources: bool = False) -> str:
    """The adapter set for a status line or a table title: "none" when empty; with `sources`,
    each says who named it (`voice.gguf×0.5 (sheet)`)."""
    shown = [f"{a.label} ({a.source})" if sources and a.source else a.label for a in adapters]
    return ", ".join(shown) or "none"


def key(adapters: Sequence[Adapter]) -> str:
    """What a cache saved under this set must match: each file's identity and its scale."""
    parts = []
    for adapter in adapters:
        try:
            stat = adapter.path.stat()
            size, mtime = stat.st_size, stat.st_mtime_ns
        except OSError:
            size, mtime = -1, -1
        parts.append([str(adapter.path), size, mtime, adapter.scale])
    return json.dumps(parts, separators=(",", ":")) if parts else ""


def resolve(refs: Sequence[tuple[str, float]], folders: Sequence[Path | None]) -> list[Adapter]:
    """`(file, scale)` pairs as adapters: an absolute or `~` path as it is, a bare name looked up
    in `folders` (the models folders, where adapters sit beside their base models).

    A file that is in none of them is one clear error naming where it was looked for.
    """
    if len(refs) > MAX_ADAPTERS:
        raise LoreweaverError(f"{len(refs)} adapters named; at most {MAX_ADAPTERS} can be applied")
    found: list[Adapter] = []
    for ref, scale in refs:
        path = Path(ref).expanduser()
        places = [path] if path.is_absolute() else [f / path for f in folders if f is not None]
        match = next((p for p in places if p.is_file()), None)
        if match is None:
            where = ", ".join(str(p.parent) for p in places) or "no models folder"
            raise LoreweaverError(f"adapter file {ref!r} not found (looked in {where})")
        found.append(Adapter(match.resolve(), scale))
    return found


def adapter_problem(path: Path, architecture: str | None) -> str | None:
    """Why `path` is not a LoRA adapter for a model of `architecture`, or None."""
    try:
        header = read_header(path)
    except GGUFError as exc:
        return f"not a usable GGUF file ({exc})"
    meta = header.metadata
    if meta.get("general.type") != "adapter":
        return "not an adapter (general.type is not 'adapter'): a model file?"
    if meta.get("adapter.type") != "lora":
        return f"not a LoRA adapter (adapter.type is {meta.get('adapter.type')!r})"
    if header.value_types.get(ALPHA, F32) != F32:
        return f"{ALPHA} is not a 32-bit float"
    arch = meta.get("general.architecture")
    if architecture is not None and arch != architecture:
        return f"an adapter for {arch!r} models; the model is {architecture!r}"
    for name, (shape, kind) in header.tensors.items():
        if not name.endswith((".lora_a", ".lora_b")):
            continue  # norm vectors, which llama.cpp skips
        if kind not in LORA_TYPES:
            return f"tensor {name!r} has ggml type {kind}; LoRA tensors must be {_TYPE_NAMES}"
        if len(shape) != 2 or 0 in shape:  # (rank 0 divides by zero in llama.cpp)
            return f"tensor {name!r} has shape {list(shape)}; LoRA tensors are 2-D, not empty"
    return None


class LoadedAdapters:
    """The adapter files llama.cpp has read for one model (each file once, while it is
    unchanged) and the set applied to its context. Runs on the engine's worker thread.

    Loaded adapters stay loaded until the engine closes (`free`): switching back to a
    character costs a pointer swap, not a file read.
    """

    def __init__(self, architecture: str | None) -> None:
        self._architecture = architecture
        self._loaded: dict[tuple[Path, int, int], Any] = {}
        self.applied: tuple[Adapter, ...] = ()

    def _load(self, llm: Any, lib: Any, path: Path) -> Any:
        try:
            stat = path.stat()
        except OSError as exc:
            raise LoreweaverError(f"cannot read the adapter ({exc.strerror})", path=path) from None
        file_key = (path, stat.st_size, stat.st_mtime_ns)
        handle = self._loaded.get(file_key)
        if handle is not None:
            return handle
        problem = adapter_problem(path, self._architecture)
        if problem is not None:
            raise LoreweaverError(f"unusable adapter: {problem}", path=path)
        quiet.clear_errors()
        with quiet.drop_this_threads_stderr():
            handle = lib.llama_adapter_lora_init(llm._model.model, str(path).encode())
        if not handle:
            reason = quiet.first_error() or "llama.cpp could not read it"
            raise LoreweaverError(f"unusable adapter: {reason}", path=path)
        self._loaded[file_key] = handle
        return handle

    def apply(
        self, llm: Any, lib: Any, adapters: Sequence[Adapter], forget: Callable[[], None]
    ) -> None:
        """Make `adapters` the context's set, calling `forget` (the KV cache) when the set
        changes. Every file is loaded before it does, so a bad one leaves the previous set."""
        wanted = tuple(adapters)
        if wanted == self.applied and all(self._current(a) for a in wanted):
            self.applied = wanted  # the same set, perhaps named by another source
            return
        handles = [self._load(llm, lib, a.path) for a in wanted]
        lib.llama_clear_adapter_lora(llm._ctx.ctx)
        self.applied = ()
        forget()
        self._free(lib, keep=handles, stale_only=True)  # older reads of files edited since
        for adapter, handle in zip(wanted, handles, strict=True):
            if lib.llama_set_adapter_lora(llm._ctx.ctx, handle, adapter.scale) != 0:
                lib.llama_clear_adapter_lora(llm._ctx.ctx)
                raise LoreweaverError("llama.cpp refused the adapter", path=adapter.path)
        self.applied = wanted

    def free(self, llm: Any, lib: Any) -> None:
        """Take the adapters off the context and free them, before the model is freed:
        llama.cpp leaves them to whoever loaded them."""
        lib.llama_clear_adapter_lora(llm._ctx.ctx)
        self.applied = ()
        self._free(lib, keep=(), stale_only=False)

    def _free(self, lib: Any, *, keep: Sequence[Any], stale_only: bool) -> None:
        """Free the loaded adapters (with `stale_only`, those of files changed since), never
        one of `keep`; none of the freed may be on the context."""
        for file_key, handle in list(self._loaded.items()):
            if any(handle is k for k in keep) or (stale_only and _unchanged(file_key)):
                continue
            lib.llama_adapter_lora_free(handle)
            del self._loaded[file_key]

    def _current(self, adapter: Adapter) -> bool:
        """Whether the file is still the one that was loaded (an edited file is read again)."""
        return any(k[0] == adapter.path and _unchanged(k) for k in self._loaded)


def _unchanged(file_key: tuple[Path, int, int]) -> bool:
    """Whether the file still has the size and modification time it was loaded with."""
    path, size, mtime = file_key
    try:
        stat = path.stat()
    except OSError:
        return False
    return (stat.st_size, stat.st_mtime_ns) == (size, mtime)
