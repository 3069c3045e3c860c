"""What llama.cpp needs from a GGUF header, checked before the file is handed to it.

llama.cpp trusts many header values: a zero layer count, a head count that does not divide,
more experts in use than exist or a token id past the vocabulary end make it abort the whole
process (GGML_ASSERT) rather than return an error. Those are refused here with the key named;
whatever slips through is caught by the child-process probe (`app.models.probe`).
"""

from __future__ import annotations

import re

from app.models.gguf import GGUFHeader, SkippedArray

MAX_LAYERS = 512
"""llama.cpp's LLAMA_MAX_LAYERS: per-layer arrays have this many slots."""
MAX_EXPERTS = 512
_ARCH_NAME = re.compile(r"[a-z0-9][a-z0-9_.\-]{0,63}")
_NO_TOKEN = (-1, 2**32 - 1)
"""How a file says "no such token" (llama.cpp's LLAMA_TOKEN_NULL, signed or not)."""
_TOKENIZER_ARRAYS = ("tokenizer.ggml.scores", "tokenizer.ggml.token_type")


def _count(value: object) -> int | None:
    if isinstance(value, SkippedArray):
        return value.count
    if isinstance(value, list):
        return len(value)
    return None


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _ints(value: object) -> list[int] | None:
    """A whole number, or a per-layer list of them, as a list; None for anything else."""
    values: list[object] = value if isinstance(value, list) else [value]
    if not values or not all(_whole(v) for v in values):
        return None
    return [v for v in values if isinstance(v, int)]


def _positive(
    meta: dict[str, object], key: str, *, required: bool, most: int | None = None
) -> str | None:
    """A problem with `key` as a positive integer, else None."""
    if key not in meta:
        return f"no {key} in the metadata" if required else None
    values = _ints(meta[key])
    if values is None or isinstance(meta[key], list):
        return f"{key} is not a whole number"
    if min(values) <= 0:
        return f"{key} is {min(values)} (must be > 0)"
    if most is not None and max(values) > most:
        return f"{key} is {max(values)} (llama.cpp allows at most {most})"
    return None


def header_problem(header: GGUFHeader) -> str | None:
    """Why llama.cpp would refuse or abort on this header, or None when it looks loadable."""
    meta = header.metadata
    arch = meta.get("general.architecture")
    if not isinstance(arch, str) or not arch.strip():
        return "no general.architecture in the metadata"
    if not _ARCH_NAME.fullmatch(arch):
        return "general.architecture is not an architecture name"
    if header.tensor_count == 0:
        return "no tensors (not a model's weights)"
    for key, required, most in (
        (f"{arch}.block_count", True, MAX_LAYERS),
        (f"{arch}.context_length", True, None),
        (f"{arch}.embedding_length", True, None),
        (f"{arch}.expert_count", False, MAX_EXPERTS),
    ):
        problem = _positive(meta, key, required=required, most=most)
        if problem:
            return problem
    return _heads_problem(meta, arch) or _tokenizer_problem(meta)


def _heads_problem(meta: dict[str, object], arch: str) -> str | None:
    counts: dict[str, list[int]] = {}
    for name in ("attention.head_count", "attention.head_count_kv", "expert_used_count"):
        key = f"{arch}.{name}"
        if key in meta:
            values = _ints(meta[key])
            if values is None or min(values) < 0:
                return f"{key} is not a whole number >= 0"
            counts[name] = values
    heads, kv_heads = counts.get("attention.head_count"), counts.get("attention.head_count_kv")
    if (
        heads
        and kv_heads
        and len(heads) == len(kv_heads) == 1
        and kv_heads[0]
        and heads[0] % kv_heads[0]
    ):
        return (
            f"{arch}.attention.head_count ({heads[0]}) is not a multiple of "
            f"head_count_kv ({kv_heads[0]})"
        )
    experts = _ints(meta.get(f"{arch}.expert_count", 0)) or [0]
    used = counts.get("expert_used_count", [0])
    if max(used) > experts[0]:
        return f"{arch}.expert_used_count ({max(used)}) exceeds expert_count ({experts[0]})"
    return None


def _tokenizer_problem(meta: dict[str, object]) -> str | None:
    model = meta.get("tokenizer.ggml.model")
    if not isinstance(model, str) or not model.strip():
        return "no tokenizer (tokenizer.ggml.model) in the metadata"
    tokens = meta.get("tokenizer.ggml.tokens")
    n_tokens = _count(tokens)
    if (
        not n_tokens
        or (isinstance(tokens, SkippedArray) and tokens.item_type != 8)
        or (isinstance(tokens, list) and not all(isinstance(t, str) for t in tokens))
    ):
        return "no token list (tokenizer.ggml.tokens) in the metadata"
    for key in _TOKENIZER_ARRAYS:
        n = _count(meta.get(key))
        if key in meta and n != n_tokens:
            return f"{key} has {n if n is not None else 'no'} entries for {n_tokens} tokens"
    for key, value in meta.items():
        if key.startswith("tokenizer.ggml.") and key.endswith("_token_id"):
            ids = _ints(value)
            if ids is None or len(ids) != 1 or not (0 <= ids[0] < n_tokens or ids[0] in _NO_TOKEN):
                return f"{key} ({value!r}) is not a token id below {n_tokens}"
    return None
