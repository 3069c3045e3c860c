"""Tokenizing a prompt by its segments: control tokens only where the format put them.

llama.cpp, asked to parse special tokens, splits a string at every control-token text and
tokenizes the text runs between them. This does the same, except that control tokens are
recognised only inside the format's markup segments; text segments join the neighbouring text
runs and are tokenized with special tokens off. For a prompt whose text holds no marker strings
the result is exactly what tokenizing the whole string with specials on gives.

Two gaps of `special=False` are closed here: llama.cpp still matches *user-defined* added
tokens inside plain text (as Hugging Face tokenizers do), and some files declare their turn
markers that way. A text run may therefore not contain any token the format's markup uses, an
end-of-generation token, or BOS: such a token is spelt out in two plain pieces instead.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Iterator
from typing import Any

from app.prompts.segments import segments_of

ATTR_UNKNOWN, ATTR_CONTROL, ATTR_USER_DEFINED = 1 << 0, 1 << 3, 1 << 4
"""llama.cpp's `llama_token_attr` bits for tokens it matches before text tokenization."""
_SPECIAL = ATTR_UNKNOWN | ATTR_CONTROL | ATTR_USER_DEFINED
_PARTITIONS = 4096


class SegmentTokenizer:
    """Turns prompts into token ids for one vocabulary (callables into the loaded model)."""

    def __init__(
        self,
        tokenize: Callable[[bytes, bool], list[int]],
        attr: Callable[[int], int],
        piece: Callable[[int], bytes],
        reserved: set[int],
    ) -> None:
        """`tokenize(text, special)` without BOS; `attr(id)` its attribute bits; `piece(id)`
        its text; `reserved` the ids text may never produce (EOG tokens, BOS)."""
        self._tokenize = tokenize
        self._attr = attr
        self._piece = piece
        self._reserved = set(reserved)
        self._partitions: dict[str, list[str | int]] = {}

    def tokens(self, prompt: str) -> list[int]:
        out: list[int] = []
        for run in list(self._runs(prompt)):  # all markup first: it decides what is reserved
            if isinstance(run, int):
                out.append(run)
            else:
                out.extend(self._text(run))
        return out

    def _runs(self, prompt: str) -> Iterator[str | int]:
        """Control-token ids and the text runs between them (neighbouring text joined)."""
        text: list[str] = []
        for segment in segments_of(prompt):
            for part in self._partition(segment.text) if segment.special else (segment.text,):
                if isinstance(part, str):
                    text.append(part)
                    continue
                if text:
                    yield "".join(text)
                    text = []
                yield part
        if text:
            yield "".join(text)

    def _partition(self, markup: str) -> list[str | int]:
        """Markup split at its control tokens, as llama.cpp splits it (cached per string)."""
        cached = self._partitions.get(markup)
        if cached is not None:
            return cached
        data = markup.encode("utf-8")
        parts: list[str | int] = []
        start = 0
        for token in self._tokenize(data, True):
            if not self._attr(token) & _SPECIAL:
                continue
            spelling = self._piece(token)
            at = data.find(spelling, start) if spelling else -1
            if at < 0:  # a token whose text is not what it matched: keep the markup whole
                parts = [markup]
                break
            if at > start:
                parts.append(data[start:at].decode("utf-8"))
            parts.append(token)
            self._reserved.add(token)
            start = at + len(spelling)
        else:
            if start < len(data):
                parts.append(data[start:].decode("utf-8"))
        if len(self._partitions) >= _PARTITIONS:
            self._partitions.clear()
        self._partitions[markup] = parts
        return parts

    def _text(self, text: str) -> list[int]:
        """Plain-text tokens, with any reserved token that slipped through spelt out."""
        tokens = self._tokenize(text.encode("utf-8"), False)
        if not any(t in self._reserved for t in tokens):
            return tokens
        out: list[int] = []
        rest = text.encode("utf-8")
        for token in tokens:
            if token not in self._reserved:
                continue
            spelling = self._piece(token)
            at = rest.find(spelling) if spelling else -1
            if at < 0:
                continue
            before, rest = rest[:at], rest[at + len(spelling) :]
            if before:
                out.extend(self._tokenize(before, False))
            out.extend(self._spelt(spelling))
        if rest:
            out.extend(self._tokenize(rest, False))
        return out

    def _spelt(self, spelling: bytes) -> list[int]:
        """A reserved token's text as ordinary tokens: its first character, then the rest."""
        text = spelling.decode("utf-8", errors="replace")
        return [
            token
            for piece in (text[:1], text[1:])
            if piece
            for token in self._tokenize(piece.encode("utf-8"), False)
        ]


class ModelVocab:
    """A loaded model's vocabulary as the engine uses it: prompts to ids (with BOS when the file
    asks for it), ids to bytes (each id converted once), the ends of a generation."""

    def __init__(self, lib: Any, llm: Any) -> None:
        self._lib = lib
        self.handle = llm._model.vocab
        """llama.cpp's vocabulary pointer (grammars are built against it)."""
        self.bos = int(llm.token_bos())
        self.eos = int(llm.token_eos())
        self._add_bos = bool(llm._model.add_bos_token())
        self._pieces: dict[int, bytes] = {}
        ends = (self.bos, self.eos, lib.llama_vocab_eot(self.handle))
        self.segments = SegmentTokenizer(
            lambda data, special: llm.tokenize(data, add_bos=False, special=special),
            lambda token: int(lib.llama_vocab_get_attr(self.handle, token)),
            self.piece,
            reserved={t for t in ends if t >= 0},
        )

    def piece(self, token: int) -> bytes:
        """A token's bytes, special tokens as their text."""
        cached = self._pieces.get(token)
        if cached is None:
            buf = ctypes.create_string_buffer(64)
            n = self._lib.llama_token_to_piece(self.handle, token, buf, 64, 0, True)
            if n < 0:
                buf = ctypes.create_string_buffer(-n)
                n = self._lib.llama_token_to_piece(self.handle, token, buf, -n, 0, True)
            cached = self._pieces[token] = buf.raw[: max(n, 0)]
        return cached

    def prompt(self, text: str) -> list[int]:
        """A `Prompt`'s markup with control tokens, all other text as plain text."""
        tokens = self.segments.tokens(text)
        if self._add_bos and self.bos >= 0 and not (tokens and tokens[0] == self.bos):
            tokens.insert(0, self.bos)
        return tokens

    def ends(self, token: int) -> bool:
        """Whether `token` ends a generation (EOS, EOT and the like)."""
        return bool(self._lib.llama_vocab_is_eog(self.handle, token))
