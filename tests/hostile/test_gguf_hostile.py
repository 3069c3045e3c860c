"""Hostile GGUF files next to the bundled model: no hang, crash or traceback, and the good model
still listed and usable.

Cases are generated per class (shapes × sizes). Every case is read in-process (cheap: reading a
header is bounded work whatever the file says); a sample of every class then sits in a home's
`models/` while `models`, `models --json` and `chat --model NAME --say hi` run as limited
subprocesses. Per-class counts are printed (`pytest -s`).
"""

from __future__ import annotations

import json
import struct
from collections import Counter
from pathlib import Path

import ggufdata as g
from hostile.harness import assert_clean_failure, assert_survived, run_limited

from app.home import Home
from app.models import bundled_model_path, gguf, read_model_info

BIG = (2**24 + 1, 2**32, 2**62, 2**64 - 1)
"""Claimed counts and lengths: just past a limit, past 32 bits, absurd, the u64 maximum."""


def _good() -> bytes:
    return g.gguf(g.model_kvs())


def _nested(depth: int, inner: int) -> bytes:
    body = struct.pack("<IQ", inner, 1) + g.value(inner, "x" if inner == g.STRING else 7)
    for _ in range(depth - 1):
        body = struct.pack("<IQ", g.ARRAY, 1) + body
    return g.string("nest") + struct.pack("<I", g.ARRAY) + body


def _claimed_string(n: int) -> bytes:
    return struct.pack("<Q", n) + b"abc"


def _with(extra: list[bytes]) -> bytes:
    return g.gguf(g.model_kvs() + extra)


_STRING_KEYS = {"general__architecture", "tokenizer__ggml__model"}


def _classes() -> dict[str, dict[str, bytes]]:
    good = _good()
    head_end = len(good) - 128  # where the tensor data starts
    n_pad = gguf.MAX_HEADER_BYTES + 1
    cls: dict[str, dict[str, bytes]] = {}
    cls["version"] = {
        f"v{v}": good[:4] + struct.pack("<I", v) + good[8:]
        for v in (0, 1, 4, 7, 2**16, 2**31, 2**32 - 1)
    }
    counts = (*BIG, 2, 2**16, 2**20)
    cls["counts"] = {
        **{f"tensor_count{n}": g.gguf(g.model_kvs(), tensor_count=n) for n in counts},
        **{f"kv_count{n}": g.gguf(g.model_kvs(), kv_count=n) for n in counts},
    }
    cls["nested"] = {
        f"depth{d}_{t}": _with([_nested(d, t)])
        for d in (2, 3, 10, 100, 1000, 10_000)
        for t in (g.U32, g.STRING)
    }
    cls["huge_string"] = {
        **{f"key{n}": good[:24] + _claimed_string(n) for n in BIG},
        **{
            f"value{n}": _with([g.string("s") + struct.pack("<I", g.STRING) + _claimed_string(n)])
            for n in BIG
        },
        **{
            f"item{n}": _with(
                [g.string("a") + struct.pack("<IIQ", g.ARRAY, g.STRING, 1) + _claimed_string(n)]
            )
            for n in BIG
        },
        **{
            f"array{n}": _with([g.string("a") + struct.pack("<IIQ", g.ARRAY, t, n)])
            for n in BIG
            for t in (g.U8, g.STRING)
        },
        **{f"tensor_name{n}": g.gguf(g.model_kvs(), [_claimed_string(n)]) for n in BIG},
        "real_17MB_value": _with([g.kv("big", g.STRING, "x" * (gguf.MAX_STRING + 1))]),
        "many_strings": _with(
            [g.kv("many", g.ARRAY, (g.STRING, [""] * (gguf.MAX_STRING_ITEMS + 1)))]
        ),
        "header_65MB": _with(
            [g.string("pad") + struct.pack("<IIQ", g.ARRAY, g.U8, n_pad) + bytes(n_pad)]
        ),
    }
    cls["truncated"] = {
        f"cut{n}": good[:n] for n in range(0, len(good), 1) if n < head_end or n % 16 == 0
    }
    cls["bad_type"] = {
        **{
            f"value_type{t}": _with([g.string("k") + struct.pack("<IQ", t, 0)])
            for t in (13, 14, 100, 2**31, 2**32 - 1)
        },
        **{
            f"item_type{t}": _with([g.string("k") + struct.pack("<IIQ", g.ARRAY, t, 1) + bytes(8)])
            for t in (13, 100, 2**32 - 1)
        },
        **{
            f"{key}_as_{name}": g.gguf(g.model_kvs(**{key: (kind, item)}))
            for key in (
                "llama__block_count",
                "llama__context_length",
                "general__architecture",
                "tokenizer__ggml__model",
                "tokenizer__ggml__tokens",
            )
            for name, kind, item in (
                ("f32", g.F32, 1.5),
                ("bool", g.BOOL, True),
                ("string", g.STRING, "1"),
                ("u32_array", g.ARRAY, (g.U32, [1])),
                ("empty_array", g.ARRAY, (g.STRING, [])),
            )
            if not (kind == g.STRING and key in _STRING_KEYS)
        },
    }
    cls["model_keys"] = {
        **{
            f"block_count_{n}": g.gguf(g.model_kvs(llama__block_count=(kind, n)))
            for kind, n in (
                (g.U32, 0),
                (g.U32, 513),
                (g.U32, 2**32 - 1),
                (g.I32, -1),
                (g.U64, 2**63),
            )
        },
        **{
            f"missing_{key}": g.gguf(g.model_kvs(**{key: None}))
            for key in (
                "general__architecture",
                "llama__block_count",
                "llama__context_length",
                "llama__embedding_length",
                "tokenizer__ggml__model",
                "tokenizer__ggml__tokens",
            )
        },
        "heads_7_kv_2": g.gguf(g.model_kvs(llama__attention__head_count=(g.U32, 7))),
        "kv_heads_neg": g.gguf(g.model_kvs(llama__attention__head_count_kv=(g.I32, -2))),
        "experts_used_over": g.gguf(
            g.model_kvs(llama__expert_count=(g.U32, 2), llama__expert_used_count=(g.U32, 3))
        ),
        "experts_513": g.gguf(g.model_kvs(llama__expert_count=(g.U32, 513))),
        "eos_past_vocab": g.gguf(g.model_kvs(tokenizer__ggml__eos_token_id=(g.U32, 4))),
        "scores_short": g.gguf(g.model_kvs(tokenizer__ggml__scores=(g.ARRAY, (g.F32, [0.0])))),
        "arch_escape": g.gguf(g.model_kvs(general__architecture=(g.STRING, "\x1b[31mx"))),
        "arch_path": g.gguf(g.model_kvs(general__architecture=(g.STRING, "../../x"))),
        "duplicate_key": _with([g.kv("general.name", g.STRING, "again")]),
        "alignment_0": _with([g.kv("general.alignment", g.U32, 0)]),
        "alignment_3": _with([g.kv("general.alignment", g.U32, 3)]),
    }
    t = g.tensor
    cls["tensor_index"] = {
        "offset_plus_1": g.gguf(g.model_kvs(), [t("t", [32], offset=1)]),
        "offset_huge": g.gguf(g.model_kvs(), [t("t", [32], offset=2**63)]),
        "second_overlaps": g.gguf(g.model_kvs(), [t("a", [32]), t("b", [32], offset=0)]),
        "data_missing": g.gguf(g.model_kvs(), data=b""),
        "data_short": g.gguf(g.model_kvs(), [t("t", [1024])]),
        "dims_5": g.gguf(g.model_kvs(), [t("t", [1, 1, 1, 1, 32])]),
        "dims_huge": g.gguf(g.model_kvs(), [g.string("t") + struct.pack("<I", 2**32 - 1)]),
        "ne_overflow": g.gguf(g.model_kvs(), [t("t", [2**62, 4])]),
        "ne_max": g.gguf(g.model_kvs(), [t("t", [2**64 - 1])]),
        "duplicate_name": g.gguf(g.model_kvs(), [t("t", [8]), t("t", [8], offset=32)]),
        "name_64": g.gguf(g.model_kvs(), [t("n" * 64, [32])]),
        "partial_block": g.gguf(g.model_kvs(), [t("t", [33], ggml_type=2)]),
        "more_than_listed": g.gguf(g.model_kvs(), [t("t", [32])], tensor_count=2),
    }
    return cls


def test_every_hostile_header_is_refused_with_a_one_line_reason(tmp_path: Path) -> None:
    counts: Counter[str] = Counter()
    for name, cases in _classes().items():
        for case, data in cases.items():
            path = tmp_path / f"{name}-{case}.gguf"
            path.write_bytes(data)
            info = read_model_info(path, "home")
            path.unlink()
            assert not info.usable, (name, case)
            assert info.problem and "\n" not in info.problem, (name, case)
            assert len(info.problem) < 200, (name, case, info.problem)
            counts[name] += 1
    print("\nGGUF hostile headers read in-process:", dict(counts), "total", sum(counts.values()))
    assert all(counts.values())


def _sample(cases: dict[str, bytes], every: int) -> dict[str, bytes]:
    return {k: v for i, (k, v) in enumerate(cases.items()) if i % every == 0}


def test_hostile_files_beside_the_bundled_model(lw_home: Home, tmp_path: Path) -> None:
    """A sample of every class in `models/` (the 65 MB and 17 MB files included): the listing
    names each problem, the good model stays usable, chatting with a bad one is one line."""
    real = bundled_model_path()
    assert real is not None
    placed: dict[str, str] = {}
    for name, cases in _classes().items():
        for case, data in _sample(cases, 9 if name == "truncated" else 1).items():
            (lw_home.models / f"{name}-{case}.gguf").write_bytes(data)
            placed[f"{name}-{case}"] = name
    # past every header check, llama.cpp's own loader refuses it: found by the test load
    (lw_home.models / "real-ffn_0.gguf").write_bytes(
        g.patched(real, "llama.feed_forward_length", 0)
    )

    listing = run_limited("models", "--json", timeout=120)
    assert_survived(listing)
    rows = {row["id"]: row for row in json.loads(listing.stdout)}
    assert rows["SmolLM2-135M-Instruct.Q4_1"]["usable"] is True
    assert set(placed) <= set(rows)
    table = run_limited("models", timeout=120)
    assert_survived(table)
    assert table.returncode == 0 and "SmolLM2" in table.stdout

    verdicts: Counter[str] = Counter()
    chosen = {cls: case for case, cls in placed.items()}  # the last case of each class
    for case in [*chosen.values(), "real-ffn_0"]:
        outcome = run_limited("chat", "brenna", "--model", case, "--say", "hi", timeout=120)
        assert_clean_failure(outcome)
        assert "unusable model" in outcome.stderr, outcome.describe()
        verdicts[outcome.verdict()] += 1
    again = run_limited("models", "--json", timeout=120)
    rows = {row["id"]: row for row in json.loads(again.stdout)}
    assert rows["real-ffn_0"]["usable"] is False  # the test load's verdict was kept
    assert "llama.cpp cannot load it" in rows["real-ffn_0"]["problem"]

    good = run_limited(
        "chat",
        "brenna",
        "--model",
        "SmolLM2-135M-Instruct.Q4_1",
        "--say",
        "hi",
        "--max-tokens",
        "2",
        "--seed",
        "1",
        timeout=300,
    )
    assert_survived(good)
    assert good.returncode == 0 and good.stdout.strip(), good.describe()
    print(
        f"\nGGUF hostile files in models/: {len(placed) + 1} listed, chat verdicts {dict(verdicts)}"
    )
