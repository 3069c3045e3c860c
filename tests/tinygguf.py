"""Small GGUF files written with the `gguf` package (importable as `tinygguf`): LoRA adapters
for the bundled model, and a tiny random-weight Mamba (recurrent) model with its tokenizer.

Shapes follow llama.cpp's loaders: numpy shapes are ggml's `ne` reversed, so a LoRA pair for a
weight of ne `[n_in, n_out]` is `lora_a` of numpy shape `(rank, n_in)` and `lora_b` of
`(n_out, rank)`; the adapter's effect is `scale * alpha / rank * B @ A`.
"""

from __future__ import annotations

from pathlib import Path

import gguf
import numpy as np

from app.models import read_header


def _write(writer: gguf.GGUFWriter) -> None:
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def write_lora(
    path: Path,
    base: Path,
    *,
    std: float = 0.0,
    seed: int = 0,
    rank: int = 4,
    arch: str | None = None,
    width: int | None = None,
    general_type: str = "adapter",
) -> Path:
    """A LoRA on every layer's `attn_q` of `base` (weights drawn with `std`; 0: all zero).

    `arch` and `width` override the base model's, to make mismatched adapters."""
    meta = read_header(base).metadata
    base_arch = str(meta["general.architecture"])
    embedding, layers = meta[f"{base_arch}.embedding_length"], meta[f"{base_arch}.block_count"]
    assert isinstance(embedding, int) and isinstance(layers, int), (embedding, layers)
    n_embd = width or embedding
    writer = gguf.GGUFWriter(str(path), arch or base_arch)
    writer.add_string("general.type", general_type)
    writer.add_string("adapter.type", "lora")
    writer.add_float32("adapter.lora.alpha", float(rank))
    rng = np.random.default_rng(seed)
    for i in range(layers):
        a = rng.standard_normal((rank, n_embd)) * std
        b = rng.standard_normal((n_embd, rank)) * std
        writer.add_tensor(f"blk.{i}.attn_q.weight.lora_a", a.astype(np.float32))
        writer.add_tensor(f"blk.{i}.attn_q.weight.lora_b", b.astype(np.float32))
    _write(writer)
    return path


def write_mamba(
    path: Path, tokenizer_from: Path, *, hybrid: bool = False, n_embd: int = 64
) -> Path:
    """A random-weight Mamba model (llama.cpp's `mamba` architecture) speaking the tokenizer
    of `tokenizer_from`. Its replies are noise; its state behaves like any Mamba's. `hybrid`
    makes it a Jamba instead: a Mamba layer, then an attention layer, each with a feed-forward."""
    fields = gguf.GGUFReader(str(tokenizer_from)).fields
    d_inner, d_state, dt_rank, d_conv, n_ff = 2 * n_embd, 16, 4, 4, 2 * n_embd
    kv_heads = [0, 2] if hybrid else [0, 0]  # per layer; 0 = a Mamba layer
    writer = gguf.GGUFWriter(str(path), "jamba" if hybrid else "mamba")
    writer.add_name("Tiny Jamba" if hybrid else "Tiny Mamba")
    writer.add_context_length(2048)
    writer.add_embedding_length(n_embd)
    writer.add_block_count(len(kv_heads))
    writer.add_feed_forward_length(n_ff if hybrid else 0)
    writer.add_head_count(4 if hybrid else 0)
    if hybrid:
        writer.add_head_count_kv(kv_heads)
    writer.add_ssm_conv_kernel(d_conv)
    writer.add_ssm_inner_size(d_inner)
    writer.add_ssm_state_size(d_state)
    writer.add_ssm_time_step_rank(dt_rank)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_tokenizer_model(fields["tokenizer.ggml.model"].contents())
    writer.add_tokenizer_pre(fields["tokenizer.ggml.pre"].contents())
    writer.add_token_list(fields["tokenizer.ggml.tokens"].contents())
    writer.add_token_types(fields["tokenizer.ggml.token_type"].contents())
    writer.add_token_merges(fields["tokenizer.ggml.merges"].contents())
    for kind in ("bos", "eos", "unknown", "padding"):
        key = f"tokenizer.ggml.{kind}_token_id"
        writer.add_uint32(key, fields[key].contents())
    writer.add_add_bos_token(False)
    writer.add_chat_template(fields["tokenizer.chat_template"].contents())
    rng = np.random.default_rng(0)

    def tensor(name: str, *ne: int) -> None:
        writer.add_tensor(name, (rng.standard_normal(ne[::-1]) * 0.1).astype(np.float32))

    n_vocab = len(fields["tokenizer.ggml.tokens"].data)
    tensor("token_embd.weight", n_embd, n_vocab)
    writer.add_tensor("output_norm.weight", np.ones(n_embd, np.float32))
    for i, heads in enumerate(kv_heads):
        p = f"blk.{i}."
        writer.add_tensor(p + "attn_norm.weight", np.ones(n_embd, np.float32))
        if hybrid:
            writer.add_tensor(p + "ffn_norm.weight", np.ones(n_embd, np.float32))
            tensor(p + "ffn_gate.weight", n_embd, n_ff)
            tensor(p + "ffn_up.weight", n_embd, n_ff)
            tensor(p + "ffn_down.weight", n_ff, n_embd)
        if heads:
            kv_width = n_embd // 4 * heads
            tensor(p + "attn_q.weight", n_embd, n_embd)
            tensor(p + "attn_k.weight", n_embd, kv_width)
            tensor(p + "attn_v.weight", n_embd, kv_width)
            tensor(p + "attn_output.weight", n_embd, n_embd)
            continue
        if hybrid:
            writer.add_tensor(p + "ssm_dt_norm.weight", np.ones(dt_rank, np.float32))
            writer.add_tensor(p + "ssm_b_norm.weight", np.ones(d_state, np.float32))
            writer.add_tensor(p + "ssm_c_norm.weight", np.ones(d_state, np.float32))
        tensor(p + "ssm_in.weight", n_embd, 2 * d_inner)
        tensor(p + "ssm_conv1d.weight", d_conv, d_inner)
        tensor(p + "ssm_conv1d.bias", d_inner)
        tensor(p + "ssm_x.weight", d_inner, dt_rank + 2 * d_state)
        tensor(p + "ssm_dt.weight", dt_rank, d_inner)
        tensor(p + "ssm_dt.bias", d_inner)
        a = -np.exp(rng.standard_normal((d_inner, d_state)))
        writer.add_tensor(p + "ssm_a", a.astype(np.float32))
        writer.add_tensor(p + "ssm_d", np.ones(d_inner, np.float32))
        tensor(p + "ssm_out.weight", d_inner, n_embd)
    _write(writer)
    return path
