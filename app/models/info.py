"""What Loreweaver knows about one model file, read from its GGUF header without loading it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from app.models.remotes import RemoteModel

ModelSource = Literal["bundled", "checkout", "home", "path", "remote"]


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
