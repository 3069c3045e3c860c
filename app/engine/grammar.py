"""GBNF grammars against llama.cpp's own parser and sampler.

llama-cpp-python hands a grammar's text to llama.cpp only when it builds a sampler, and a text
llama.cpp cannot parse gives a NULL sampler that crashes the chain: `check` parses it first and
fails with one line. `accepts` runs text through a grammar sampler token by token, the way
generation does, so a test can show that a grammar really rejects what it should.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from typing import Any

from app.errors import LoreweaverError

ROOT = b"root"


def _sampler(lib: Any, vocab: Any, gbnf: str) -> Any:
    sampler = lib.llama_sampler_init_grammar(vocab, gbnf.encode("utf-8"), ROOT)
    if not sampler:
        raise LoreweaverError("llama.cpp cannot parse the grammar")
    return sampler


def check(lib: Any, vocab: Any, gbnf: str) -> None:
    """Raise one `LoreweaverError` line if llama.cpp cannot parse `gbnf`."""
    lib.llama_sampler_free(_sampler(lib, vocab, gbnf))


def _allowed(lib: Any, sampler: Any, token: int) -> bool:
    data = (lib.llama_token_data * 1)(lib.llama_token_data(token, 0.0, 0.0))
    array = lib.llama_token_data_array(data, 1, -1, False)
    lib.llama_sampler_apply(sampler, ctypes.byref(array))
    return bool(data[0].logit != float("-inf"))


def accepts(lib: Any, vocab: Any, gbnf: str, tokens: Sequence[int], end: int) -> bool:
    """Whether `tokens` are a whole sentence of the grammar: each allowed in turn, then the
    end-of-generation token `end` (allowed only once the root rule is complete)."""
    sampler = _sampler(lib, vocab, gbnf)
    try:
        for token in tokens:
            if not _allowed(lib, sampler, token):
                return False
            lib.llama_sampler_accept(sampler, token)
        return _allowed(lib, sampler, end)
    finally:
        lib.llama_sampler_free(sampler)
