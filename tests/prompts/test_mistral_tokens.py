"""Mistral's built-in format, checked in tokens the way the engine feeds prompts.

No Mistral vocabulary ships offline, so this builds a SentencePiece vocabulary the way Mistral
7B v0.1/v0.2's is built, and small: byte fallback, `<s>`/`</s>` as control tokens, `[INST]` as
plain text, pieces that start a word carry the `▁` space mark, a dummy space prefix, and the
merge `]*` (which Mistral's vocabulary has). llama.cpp loads it (vocabulary only) and tokenizes
exactly as it would a real file. The reference is what Mistral's tokenizer (mistral-common v1)
does: each user turn's `[INST] … [/INST]` and each reply encoded on its own, each with the
dummy prefix — so a reply begins with a space token (`▁Fort`), and so does what the model
generates after `[/INST]`.
"""

from __future__ import annotations

from pathlib import Path

import ggufdata
import llama_cpp
import pytest
from prompts.chat_templates import MISTRAL_V0_2

from app.engine.tokens import SegmentTokenizer
from app.prompts.families import BUILTINS
from app.prompts.messages import Message
from app.prompts.template import GgufTemplateFormat

PERSONA = "Brenna, smith."
REPLIES = ("Fortune favours steel.", "*smiles* Again?", "Back again?")
WORDS = "Brenna, smith. Good morning. Fortune favours steel. *smiles* Again? Back I need a sword."
MARKUP = ["▁[", "[", "/", "INST", "INS", "IN", "]", "]*"]
"""Mistral's vocabulary spells `[INST]` `▁[`, `INST`, `]` and `[/INST]` `▁[`, `/`, `INST`, `]`."""
BOS, EOS = 1, 2


def mistral_like_vocab(path: Path) -> None:
    pieces: list[str] = ["▁", *MARKUP, "ort", "or"]
    for word in WORDS.split():
        spelled = "▁" + word
        pieces += [spelled[:i] for i in range(2, len(spelled) + 1)]
        pieces += list(word)
    pieces = list(dict.fromkeys(pieces))
    tokens = ["<unk>", "<s>", "</s>", *(f"<0x{b:02X}>" for b in range(256)), *pieces]
    types = [2, 3, 3, *([6] * 256), *([1] * len(pieces))]  # unknown, control, byte, normal
    scores = [0.0] * 259 + [float(len(p)) for p in pieces]  # longer pieces merge first
    kvs = ggufdata.model_kvs(
        "llama",
        general__name=(ggufdata.STRING, "Mistral-like SentencePiece vocabulary"),
        tokenizer__ggml__model=(ggufdata.STRING, "llama"),
        tokenizer__ggml__tokens=(ggufdata.ARRAY, (ggufdata.STRING, tokens)),
        tokenizer__ggml__bos_token_id=(ggufdata.U32, BOS),
        tokenizer__ggml__eos_token_id=(ggufdata.U32, EOS),
    )
    kvs += [
        ggufdata.kv("tokenizer.ggml.scores", ggufdata.ARRAY, (ggufdata.F32, scores)),
        ggufdata.kv("tokenizer.ggml.token_type", ggufdata.ARRAY, (ggufdata.I32, types)),
        ggufdata.kv("tokenizer.ggml.add_bos_token", ggufdata.BOOL, True),
        ggufdata.kv("llama.feed_forward_length", ggufdata.U32, 64),
        ggufdata.kv("llama.attention.layer_norm_rms_epsilon", ggufdata.F32, 1e-5),
    ]
    path.write_bytes(ggufdata.gguf(kvs))


@pytest.fixture(scope="module")
def vocab(tmp_path_factory: pytest.TempPathFactory) -> llama_cpp.Llama:
    path = tmp_path_factory.mktemp("vocab") / "mistral-like.gguf"
    mistral_like_vocab(path)
    return llama_cpp.Llama(str(path), vocab_only=True, verbose=False)


@pytest.fixture(scope="module")
def engine_tokens(vocab: llama_cpp.Llama) -> SegmentTokenizer:
    """The engine's tokenizer (`LlamaCppEngine._tokens`), wired the same way."""
    model = vocab._model.vocab
    return SegmentTokenizer(
        lambda data, special: vocab.tokenize(data, add_bos=False, special=special),
        lambda token: int(llama_cpp.llama_vocab_get_attr(model, token)),
        lambda token: vocab.detokenize([token], special=True),
        reserved={BOS, EOS},
    )


def encode(vocab: llama_cpp.Llama, text: str) -> list[int]:
    """SentencePiece's `encode(text)`: plain text, with the dummy space prefix."""
    return vocab.tokenize(text.encode(), add_bos=False, special=False)


def pieces(vocab: llama_cpp.Llama, tokens: list[int]) -> list[str]:
    return [vocab.detokenize([t], special=True).decode() for t in tokens]


def reference(vocab: llama_cpp.Llama, messages: list[Message]) -> list[int]:
    """Mistral's own tokenizer (v1): BOS, then per turn `[INST] {text} [/INST]` or the reply
    followed by EOS, each encoded separately; the persona opens the first user turn."""
    tokens = [BOS]
    persona = ""
    for message in messages:
        if message.role == "system":
            persona = message.content
        elif message.role == "user":
            text = f"{persona}\n\n{message.content}" if persona else message.content
            tokens += encode(vocab, f"[INST] {text} [/INST]")
            persona = ""
        else:
            tokens += [*encode(vocab, message.content), EOS]
    return tokens


@pytest.mark.parametrize("reply", REPLIES)
def test_builtin_mistral_tokens_equal_mistrals_tokenizer(
    vocab: llama_cpp.Llama, engine_tokens: SegmentTokenizer, reply: str
) -> None:
    chat = [
        Message("system", PERSONA),
        Message("user", "Good morning."),
        Message("assistant", reply),
        Message("user", "I need a sword."),
    ]
    prompt = BUILTINS["mistral"].render(chat)
    assert prompt == (
        f"<s>[INST] {PERSONA}\n\nGood morning. [/INST] {reply}</s>[INST] I need a sword. [/INST]"
    )
    tokens = engine_tokens.tokens(prompt)
    expected = reference(vocab, chat)
    assert tokens == expected, (pieces(vocab, tokens), pieces(vocab, expected))
    assert pieces(vocab, tokens[:5]) == ["<s>", " [", "INST", "]", " Brenna,"]
    reply_start = len(reference(vocab, chat[:2]))
    assert pieces(vocab, tokens[reply_start - 1 : reply_start + 1])[0] == "]"
    assert pieces(vocab, tokens[reply_start : reply_start + 1])[0].startswith(" ")


@pytest.mark.parametrize("reply", REPLIES)
def test_without_the_space_the_reply_tokens_differ(
    vocab: llama_cpp.Llama, engine_tokens: SegmentTokenizer, reply: str
) -> None:
    """What the published v0.1/v0.2 template renders: `[/INST]Fortune` becomes `]`, `F`…, and
    `[/INST]*smiles*` merges `]*` into one token."""
    chat = [Message("user", "Good morning."), Message("assistant", reply)]
    fmt = GgufTemplateFormat(MISTRAL_V0_2, bos_token="<s>", eos_token="</s>", family="mistral")
    unspaced = fmt.render(chat, add_generation_prompt=False)
    assert unspaced == f"<s>[INST] Good morning. [/INST]{reply}</s>"
    tokens = engine_tokens.tokens(unspaced)
    assert tokens != reference(vocab, chat)
    spelled = pieces(vocab, tokens)
    after = spelled[len(spelled) - spelled[::-1].index("INST") :]  # from the closing `]` on
    # The model's own reply began with a space token; here `]` swallows the `*`, or the
    # reply's first token has no space.
    assert after[0] == "]*" or not after[1].startswith(" "), after


def test_the_prompt_is_a_token_prefix_of_the_next_turns(
    vocab: llama_cpp.Llama, engine_tokens: SegmentTokenizer
) -> None:
    """The generation prompt ends at `]`; the model's first token carries the space, so the
    next turn's prompt extends this one's tokens (the KV cache reuses them)."""
    chat = [Message("system", PERSONA), Message("user", "Good morning.")]
    before = engine_tokens.tokens(BUILTINS["mistral"].render(chat))
    after = engine_tokens.tokens(
        BUILTINS["mistral"].render(
            [*chat, Message("assistant", REPLIES[0]), Message("user", "Again?")]
        )
    )
    generated = encode(vocab, REPLIES[0])
    assert after[: len(before) + len(generated) + 1] == [*before, *generated, EOS]
