"""Hostile LoRA adapter files applied to the bundled model: refused with one line or applied,
never a crash, hang or traceback, and the base model still answers afterwards.

Cases are generated per class (tensor types × shapes, names, metadata values) as whole files
(`ggufdata` writes the bytes). One limited child process loads the model once and, for every
case, applies the adapter and generates a token: llama.cpp crashes on some tensors (integer
types) instead of refusing them, so a crash is the failure this looks for. Per-class counts are
printed (`pytest -s`).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import ggufdata as g
from hostile.harness import _run

from app.models import bundled_model_path
from app.models.gguf import _TENSOR_TYPES, read_header

RANK = 4

_DRIVER = """
import json, sys
from pathlib import Path
from app.engine.adapters import Adapter
from app.engine.base import Sampling
from app.engine.llamacpp import load_engine
from app.models import bundled_model_path, read_model_info
from app.errors import LoreweaverError
one = Sampling(temperature=0.0, max_tokens=1, seed=1)
engine = load_engine(read_model_info(bundled_model_path(), "bundled"), n_threads=1, n_ctx=256)
base = "".join(engine.generate("Hello", one))
results = {}
for path in sys.argv[1:]:
    print(path, file=sys.stderr, flush=True)  # the last one named is the one that crashed
    try:
        engine.use_adapters([Adapter(Path(path))])
        "".join(engine.generate("Hello", one))
        results[path] = "applied"
    except LoreweaverError as exc:
        results[path] = "refused: " + str(exc)
    engine.use_adapters([])
results["base"] = "".join(engine.generate("Hello", one)) == base
print(json.dumps(results))
"""


def _nbytes(shape: list[int], kind: int) -> int:
    per_block, block_bytes = _TENSOR_TYPES.get(kind, (1, 4))
    elements = 1
    for n in shape:
        elements *= n
    return max(elements // per_block * block_bytes, 0)


def _adapter(
    tensors: list[tuple[str, list[int], int]],
    *,
    arch: str = "llama",
    extra: list[bytes] | None = None,
    kvs: list[bytes] | None = None,
) -> bytes:
    """A LoRA file: the usual metadata (or `kvs`) plus `extra`, and each tensor's bytes."""
    meta = (
        kvs
        if kvs is not None
        else [
            g.kv("general.architecture", g.STRING, arch),
            g.kv("general.type", g.STRING, "adapter"),
            g.kv("adapter.type", g.STRING, "lora"),
            g.kv("adapter.lora.alpha", g.F32, float(RANK)),
        ]
    )
    index, data = [], b""
    for name, shape, kind in tensors:
        index.append(g.tensor(name, shape, kind, len(data)))
        data += bytes([1]) * _nbytes(shape, kind)
        data += b"\0" * (-len(data) % 32)
    return g.gguf(meta + (extra or []), index, data=data)


def _pair(
    kind_a: int = 0, kind_b: int = 0, layer: int = 0, width: int = 576
) -> list[tuple[str, list[int], int]]:
    name = f"blk.{layer}.attn_q.weight"
    return [
        (f"{name}.lora_a", [width, RANK], kind_a),
        (f"{name}.lora_b", [RANK, width], kind_b),
    ]


def _classes() -> dict[str, dict[str, bytes]]:
    cls: dict[str, dict[str, bytes]] = {}
    cls["types"] = {
        f"a{a}_b{b}": _adapter(_pair(a, b))
        for a, b in [(t, 0) for t in sorted(_TENSOR_TYPES)] + [(0, t) for t in (1, 8, 24, 26, 28)]
    }
    cls["shapes"] = {
        "rank_mismatch": _adapter(
            [
                ("blk.0.attn_q.weight.lora_a", [576, 4], 0),
                ("blk.0.attn_q.weight.lora_b", [8, 576], 0),
            ]
        ),
        "transposed": _adapter(
            [
                ("blk.0.attn_q.weight.lora_a", [4, 576], 0),
                ("blk.0.attn_q.weight.lora_b", [576, 4], 0),
            ]
        ),
        "one_dim": _adapter(
            [("blk.0.attn_q.weight.lora_a", [576], 0), ("blk.0.attn_q.weight.lora_b", [576], 0)]
        ),
        "three_dim": _adapter(
            [
                ("blk.0.attn_q.weight.lora_a", [576, 4, 2], 0),
                ("blk.0.attn_q.weight.lora_b", [4, 576, 2], 0),
            ]
        ),
        **{f"width{w}": _adapter(_pair(width=w)) for w in (1, 192, 575, 577, 1536)},
        "rank_zero": _adapter(
            [
                ("blk.0.attn_q.weight.lora_a", [576, 0], 0),
                ("blk.0.attn_q.weight.lora_b", [0, 576], 0),
            ]
        ),
    }
    cls["names"] = {
        "only_a": _adapter(_pair()[:1]),
        "only_b": _adapter(_pair()[1:]),
        "no_tensors": _adapter([]),
        "bad_suffix": _adapter([("blk.0.attn_q.weight.lora_c", [576, 4], 0)]),
        "no_such_layer": _adapter(_pair(layer=99)),
        "norm": _adapter(
            [
                ("blk.0.attn_norm.weight.lora_a", [576, 4], 0),
                ("blk.0.attn_norm.weight.lora_b", [4, 576], 0),
            ]
        ),
        "embedding": _adapter(
            [("token_embd.weight.lora_a", [4, 49152], 0), ("token_embd.weight.lora_b", [576, 4], 0)]
        ),
    }
    alpha = "adapter.lora.alpha"
    cls["metadata"] = {
        **{
            f"alpha_{v}": _adapter(
                _pair(),
                kvs=[
                    g.kv("general.architecture", g.STRING, "llama"),
                    g.kv("general.type", g.STRING, "adapter"),
                    g.kv("adapter.type", g.STRING, "lora"),
                    g.kv(alpha, g.F32, v),
                ],
            )
            for v in (0.0, -4.0, 1e38, float("inf"), float("nan"))
        },
        "alpha_is_text": _adapter(
            _pair(),
            kvs=[
                g.kv("general.architecture", g.STRING, "llama"),
                g.kv("general.type", g.STRING, "adapter"),
                g.kv("adapter.type", g.STRING, "lora"),
                g.kv(alpha, g.STRING, "four"),
            ],
        ),
        "no_type": _adapter(_pair(), kvs=[g.kv("general.architecture", g.STRING, "llama")]),
        "control_vector": _adapter(
            _pair(),
            kvs=[
                g.kv("general.architecture", g.STRING, "llama"),
                g.kv("general.type", g.STRING, "adapter"),
                g.kv("adapter.type", g.STRING, "control_vector"),
            ],
        ),
        "other_arch": _adapter(_pair(), arch="mamba"),
        "invocation_tokens_f32": _adapter(
            _pair(), extra=[g.kv("adapter.alora.invocation_tokens", g.ARRAY, (g.F32, [1.0]))]
        ),
        "invocation_tokens_past_vocab": _adapter(
            _pair(), extra=[g.kv("adapter.alora.invocation_tokens", g.ARRAY, (g.U32, [2**31]))]
        ),
        "truncated": _adapter(_pair())[:-64],
        "not_gguf": b"LoRA" * 64,
    }
    return cls


def test_hostile_adapters_are_refused_or_applied_never_crash(tmp_path: Path) -> None:
    assert bundled_model_path() is not None
    paths: dict[str, tuple[str, Path]] = {}
    for name, cases in _classes().items():
        for case, blob in cases.items():
            path = tmp_path / f"{name}-{case}.gguf"
            path.write_bytes(blob)
            paths[str(path)] = (name, path)
    assert read_header(next(iter(paths.values()))[1]).tensor_count == 2  # the files are real
    outcome = _run(
        [sys.executable, "-c", _DRIVER, *paths],
        ("adapters",),
        None,
        300.0,
        1536 * 1024**2,
        {"GGML_NO_BACKTRACE": "1"},
    )
    crashed_on = outcome.stderr.strip().splitlines()[-1:] if outcome.stderr else []
    assert outcome.verdict() == "ok", (crashed_on, outcome.describe())
    results = json.loads(outcome.stdout.splitlines()[-1])
    assert results.pop("base") is True  # the base model answers as before after all of them
    counts: Counter[str] = Counter()
    for path, result in results.items():
        name, _ = paths[path]
        counts[f"{name}:{result.split(':')[0]}"] += 1
        if result.startswith("refused"):
            message = result.removeprefix("refused: ")
            assert "\n" not in message and message.startswith(path), message
    for must_refuse in ("types-a26_b0", "types-a24_b0", "types-a28_b0", "names-only_a"):
        assert results[str(tmp_path / f"{must_refuse}.gguf")].startswith("refused")
    print("\nhostile adapters:", dict(sorted(counts.items())), "total", sum(counts.values()))
