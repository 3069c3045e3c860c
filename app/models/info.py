"""What Loreweaver knows about one model file, read from its GGUF header without loading it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from app.models.remotes import RemoteModel

ModelSource = Literal["bundled", "checkout", "home", "path", "remote"]
MemoryKind = Literal["attention", "recurrent", "hybrid"]
_STATE_KEYS = (".ssm.", ".wkv.", ".shortconv.")
"""Metadata groups that size a recurrent state: state-space (Mamba, Jamba, Falcon-H1, Granite
hybrids), RWKV's WKV heads, LFM2's short convolutions."""


def _any_positive(value: object) -> bool:
    values = value if isinstance(value, list) else [value]
    return any(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values)


def memory_kind(meta: Mapping[str, object], arch: str | None) -> MemoryKind:
    """What holds a model's context, from its GGUF metadata: a KV cache (attention), a fixed
    state (recurrent), or both in different layers (hybrid)."""
    if not arch:
        return "attention"
    prefix = f"{arch}."
    stateful = any(
        key.startswith(prefix) and any(part in key[len(arch) :] for part in _STATE_KEYS)
        for key in meta
    )
    if not stateful:
        return "attention"
    heads = (meta.get(f"{arch}.attention.head_count_kv"), meta.get(f"{arch}.attention.head_count"))
    return "hybrid" if any(_any_positive(h) for h in heads) else "recurrent"


@dataclass(frozen=True)
class ModelInfo:
    path: Path
    name: str
    """Display name: `general.name`, else the file stem."""
    source: ModelSource
    file_size: int
    architecture: str | None = None
    size_label: str | None = None
    quantization: str | None = None
    context_length: int | None = None
    """The trained context length (`{arch}.context_length`)."""
    chat_template: str | None = None
    family: str | None = None
    """The detected prompt family id (`chatml`, `gemma`, …), None when not recognised."""
    bos_token: str | None = None
    eos_token: str | None = None
    add_bos: bool | None = None
    memory: MemoryKind = "attention"
    """What holds the context (`app.engine.recurrent`): recurrent and hybrid models keep a
    state that cannot be cut back, so their cache is reused differently."""
    adapter_for: str | None = None
    """Set for a LoRA adapter file: the architecture it adapts (it is not a model itself)."""
    problem: str | None = None
    """Why the file cannot be used (truncated, not GGUF, …); None when it is usable."""
    remote: RemoteModel | None = None
    """The server to use instead of a file (`app.engine.remote`); `path` is then its name."""

    @property
    def usable(self) -> bool:
        return self.problem is None

    @property
    def id(self) -> str:
        """The name users type for `--model`: the file stem."""
        return self.path.stem
