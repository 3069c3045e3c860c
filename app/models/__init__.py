"""Model discovery: finding GGUF files, reading their headers and templates, checking and
probing them before the engine loads one. Nothing here runs inference."""

from app.models.gguf import GGUFError, read_header
from app.models.info import MemoryKind, ModelInfo, memory_kind
from app.models.probe import plain_error
from app.models.registry import bundled_model_path, discover, read_model_info, resolve_model
from app.models.remotes import (
    RemoteModel,
    add_remote,
    find_remote,
    load_remotes,
    remotes_file,
    remove_remote,
)

__all__ = [
    "GGUFError",
    "MemoryKind",
    "ModelInfo",
    "RemoteModel",
    "add_remote",
    "bundled_model_path",
    "discover",
    "find_remote",
    "load_remotes",
    "memory_kind",
    "plain_error",
    "read_header",
    "read_model_info",
    "remotes_file",
    "remove_remote",
    "resolve_model",
]
