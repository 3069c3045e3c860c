"""The live KV cache of a `llama_cpp.Llama`: lining it up with a new prompt (prefix reuse and
context shift), and saving or restoring its cells with their tokens.

Every function here runs on the engine's worker thread, against the `Llama` it owns. They are
the one place that moves llama-cpp-python's `n_tokens` / `input_ids` in step with the KV cache,
so that `input_ids[:n_tokens]` is always the cached sequence in position order.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from app.engine import kvstate
from app.engine.base import GenerationStats
from app.engine.kvplan import ReusePlan, plan_reuse
from app.errors import LoreweaverError

MIN_RUN = 64
"""Shortest shared run worth moving in the KV cache rather than evaluating again."""
_PARKED = 1
"""Spare sequence id holding a run of cells while a block is decoded before it."""


def line_up(
    llm: Any, lib: Any, tokens: Sequence[int], stats: GenerationStats, *, can_shift: bool
) -> int:
    """Line the KV cache up with `tokens` as far as it allows; return how many are in place.

    The plan (`app.engine.kvplan`) keeps the common prefix and, when the prompt changed after
    it (old turns dropped, a block replaced), moves a long shared run to its new position
    instead of evaluating it again, then evaluates the inserted block. At least the last token
    is left to evaluate: sampling needs its logits.
    """
    plan = plan_reuse(llm.input_ids[: llm.n_tokens].tolist(), tokens, min_run=MIN_RUN)
    if plan.run_len and plan.shift and not can_shift:
        plan = ReusePlan.keep_prefix(plan.prefix, len(tokens))
    llm.n_tokens = plan.prefix  # if anything below fails, the cache is still consistent
    if plan.run_len and not _move_run(llm, lib, tokens, plan):
        plan = ReusePlan.keep_prefix(plan.prefix, len(tokens))
    if not plan.run_len:
        llm._ctx.kv_cache_seq_rm(0, plan.prefix, -1)
    stats.reused_tokens = plan.reused
    stats.shifted_tokens = plan.run_len if plan.shift else 0
    stats.evaluated_tokens = plan.evaluated
    end = plan.kept_end
    llm.input_ids[:end] = tokens[:end]
    llm.n_tokens = end
    return end


def evaluate_ahead(
    llm: Any,
    tokens: Sequence[int],
    report: Callable[[int, int], None],
    stop: Callable[[], bool],
    *,
    all_but_last: bool = False,
) -> list[int]:
    """Evaluate the whole batches of `tokens` (the prompt after what `line_up` kept) that come
    before its last batch, calling `report(evaluated, total)` after each; return the rest,
    which `Llama.generate` evaluates before sampling.

    These are the batches llama-cpp-python would run itself, so this costs no extra decode: it
    only lets a reader watch a long prompt advance. `stop()` is checked between batches (the
    abort callback stops one midway). With `all_but_last`, everything but the last token is
    evaluated here, so that the state of the prompt short of it can be copied (`recurrent`).
    """
    total, size = len(tokens), llm.n_batch
    # at least one token left: sampling needs its logits
    ahead = total - 1 if all_but_last else (total - 1) // size * size
    report(0, total)
    for start in range(0, ahead, size):
        if stop():
            raise RuntimeError("cancelled")
        end = min(start + size, ahead)
        llm.eval(tokens[start:end])
        report(end, total)
    return list(tokens[ahead:])


def _move_run(llm: Any, lib: Any, tokens: Sequence[int], plan: ReusePlan) -> bool:
    """Apply a plan with a run: False (cache untouched past the prefix) if it cannot be.

    llama.cpp accepts a batch for a sequence only at the position after that sequence's last
    cell, so the inserted block cannot be decoded while the run sits after it. The run is
    parked on a spare sequence id meanwhile (cells are shared, nothing is copied), moved there,
    and handed back once the block is in.
    """
    mem = llm._ctx.memory
    src, dst, length = plan.run_src, plan.run_dst, plan.run_len
    lib.llama_memory_seq_cp(mem, 0, _PARKED, src, src + length)
    if lib.llama_memory_seq_pos_max(mem, _PARKED) != src + length - 1:
        lib.llama_memory_seq_rm(mem, _PARKED, -1, -1)
        return False
    try:
        lib.llama_memory_seq_rm(mem, 0, plan.prefix, -1)
        if plan.shift:
            lib.llama_memory_seq_add(mem, _PARKED, src, src + length, plan.shift)
        for start in range(plan.prefix, dst, llm.n_batch):
            chunk = list(tokens[start : min(dst, start + llm.n_batch)])
            llm._batch.set_batch(chunk, start, False)
            llm._ctx.decode(llm._batch)
        lib.llama_memory_seq_cp(mem, _PARKED, 0, dst, dst + length)
    except BaseException:
        lib.llama_memory_seq_rm(mem, 0, plan.prefix, -1)
        raise
    finally:
        lib.llama_memory_seq_rm(mem, _PARKED, -1, -1)
    return True


def save_sequence(
    llm: Any, lib: Any, path: Path, identity: kvstate.ModelIdentity, n_ctx: int
) -> int:
    """Write the used cells and their tokens to `path`; return its size (0: nothing cached)."""
    tokens, data = copy_sequence(llm, lib)
    if not tokens:
        return 0
    return kvstate.write_state_file(path, identity, n_ctx, tokens, data)


def copy_sequence(llm: Any, lib: Any) -> tuple[list[int], bytes]:
    """The cached tokens and the state holding them; ([], b"") when nothing is cached."""
    tokens = llm.input_ids[: llm.n_tokens].tolist()
    if not tokens:
        return [], b""
    data = sequence_bytes(llm, lib)
    if not data:
        raise LoreweaverError("cannot copy the KV state")
    return tokens, data


def sequence_bytes(llm: Any, lib: Any) -> bytes:
    """llama.cpp's copy of sequence 0 (cells or recurrent state); empty if it cannot copy."""
    lib.llama_kv_self_update(llm._ctx.ctx)  # apply any pending shift before copying
    size = lib.llama_state_seq_get_size(llm._ctx.ctx, 0)
    buf = (ctypes.c_uint8 * size)()
    written = lib.llama_state_seq_get_data(llm._ctx.ctx, buf, size, 0)
    return ctypes.string_at(buf, written) if written else b""


def restore_sequence(llm: Any, lib: Any, tokens: list[int], data: bytes) -> bool:
    """Replace the cache with `data` (from `sequence_bytes`), which holds `tokens`; False, with
    the cache emptied, when llama.cpp refuses it or it does not line up with them."""
    llm.n_tokens = 0
    llm._ctx.kv_cache_clear()
    if not tokens:
        return True
    buf = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
    if lib.llama_state_seq_set_data(llm._ctx.ctx, buf, len(data), 0) == 0:
        llm._ctx.kv_cache_clear()
        return False
    if lib.llama_memory_seq_pos_max(llm._ctx.memory, 0) != len(tokens) - 1:
        llm._ctx.kv_cache_clear()  # the cells do not line up with the tokens
        return False
    llm.input_ids[: len(tokens)] = tokens
    llm.n_tokens = len(tokens)
    return True


def reusable_by_plan(cached: Sequence[int], new: Sequence[int]) -> int:
    """Tokens of `new` an attention cache holding `cached` provides (`kvplan`)."""
    return plan_reuse(cached, new, min_run=MIN_RUN).reused


def load_sequence(
    llm: Any,
    lib: Any,
    path: Path,
    identity: kvstate.ModelIdentity,
    n_ctx: int,
    new: list[int] | None,
    reusable: Callable[[Sequence[int], Sequence[int]], int] = reusable_by_plan,
) -> list[int] | None:
    """Restore what `save_sequence` wrote; return its tokens, or None (cache untouched) when the
    file is missing, damaged, from another model file or llama-cpp-python build, too long for
    this context, or, given the `new` prompt's tokens, would reuse no more of it than the
    current cache already does (as `reusable` counts: a recurrent state reuses differently)."""
    saved = kvstate.read_state_file(path, identity, n_ctx - 1)
    if saved is None:
        return None
    if new is not None:
        current = llm.input_ids[: llm.n_tokens].tolist()
        if reusable(saved.tokens, new) <= reusable(current, new):
            return None
    if not restore_sequence(llm, lib, saved.tokens, saved.data):
        return None
    return saved.tokens
