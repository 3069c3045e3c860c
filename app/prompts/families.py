"""Built-in prompt renderers for the model families users run, for files without a template.

Each renderer reproduces its family's published chat template (the model card's prompt format
and the `chat_template` of the original tokenizer config), including where it trims message
text and where newlines go. Rendering without the generation prompt never appends an EOS: the
result is then a prefix of the next turn's prompt, which is what the KV cache reuses.

Shapes (`{x}` is message text, `⏎` a newline):
- nemotron: `<extra_id_0>System⏎{sys}⏎⏎<extra_id_1>User⏎{u}⏎<extra_id_1>Assistant⏎{a}⏎` — every
  system text joins the header, as in Nemotron-Mini-4B-Instruct's template; text is stripped.
- phi3: `<|system|>⏎{sys}<|end|>⏎<|user|>⏎{u}<|end|>⏎<|assistant|>⏎{a}<|end|>⏎` (Phi-3/3.5-mini).
- gemma: `<bos><start_of_turn>user⏎{sys}⏎⏎{u}<end_of_turn>⏎<start_of_turn>model⏎{a}<end_of_turn>⏎`
  — no system role (see `normalise.alternating`); text is trimmed.
- llama3: `<|begin_of_text|><|start_header_id|>{role}<|end_header_id|>⏎⏎{x}<|eot_id|>` per turn;
  text is trimmed (Llama 3.0).
- llama31: llama3's turns, but the system turn always comes first and opens with
  `Cutting Knowledge Date: December 2023⏎Today Date: 26 Jul 2024⏎⏎` (Llama 3.1/3.2/3.3; the
  date is the 3.1 and 3.3 templates' default, 3.2 writes the day it renders on).
- chatml: `<|im_start|>{role}⏎{x}<|im_end|>⏎` per turn.
- mistral: `<s>[INST] {sys}⏎⏎{u} [/INST] {a}</s>[INST] {u} [/INST]` (Mistral-7B-Instruct
  v0.1/v0.2); no system role, and no generation prompt beyond `[/INST]`. The space before a
  reply is the leading space of the reply's first token as Mistral's tokenizer encodes it
  (`▁Fort`): without it llama.cpp reads `]Fort` as `]`, `F`, `ort`, and `[/INST]*` as `]*`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from app.prompts.messages import Message
from app.prompts.normalise import alternating
from app.prompts.segments import Prompt
from app.prompts.skeleton import Shape, Skeleton, fill, shape_of, skeleton_of

Renderer = Callable[[Sequence[Message], bool], str]


@dataclass(frozen=True)
class BuiltinFormat:
    """One family's renderer and its turn markers."""

    id: str
    stop: tuple[str, ...]
    """Strings that end a reply: the family's turn markers and end-of-text tokens."""
    turn_end: str
    """What closes a finished reply (see `reply_prefix`)."""
    system_role: bool
    """False when system text must be folded into user turns (`normalise.alternating`)."""
    _render: Renderer = field(repr=False, compare=False)

    note: str = ""
    """Why this format stands in for the one asked for (a model file's failed template)."""
    reply_prefix: str = ""
    """What a finished reply follows the generation prompt with (Mistral's space, which the
    model generates as part of its first token): `render(k) + reply_prefix + reply +
    turn_end` begins `render(k + 2)`."""

    def render(self, messages: Sequence[Message], *, add_generation_prompt: bool = True) -> Prompt:
        """The prompt as segments: the family's markup around message text (see `skeleton`)."""
        if not self.system_role:
            messages = alternating(messages)
        return fill(_skeleton(self.id, shape_of(messages, add_generation_prompt)), messages)


@lru_cache(maxsize=1024)
def _skeleton(family: str, shape: Shape) -> Skeleton:
    return skeleton_of(shape, BUILTINS[family]._render)


def _nemotron(messages: Sequence[Message], generation: bool) -> str:
    names = {"user": "User", "assistant": "Assistant"}
    header = "".join("\n" + m.content.strip() for m in messages if m.role == "system")
    turns = "".join(
        f"<extra_id_1>{names[m.role]}\n{m.content.strip()}\n"
        for m in messages
        if m.role != "system"
    )
    return f"<extra_id_0>System{header}\n\n{turns}" + (
        "<extra_id_1>Assistant\n" if generation else ""
    )


def _phi3(messages: Sequence[Message], generation: bool) -> str:
    turns = "".join(
        f"<|{m.role}|>\n{m.content}<|end|>\n" for m in messages if m.role != "system" or m.content
    )
    return turns + ("<|assistant|>\n" if generation else "")


def _gemma(messages: Sequence[Message], generation: bool) -> str:
    turns = "".join(
        f"<start_of_turn>{'model' if m.role == 'assistant' else 'user'}\n"
        f"{m.content.strip()}<end_of_turn>\n"
        for m in messages
    )
    return "<bos>" + turns + ("<start_of_turn>model\n" if generation else "")


def _llama3(messages: Sequence[Message], generation: bool) -> str:
    return "<|begin_of_text|>" + _llama3_turns(messages, generation)


def _llama3_turns(messages: Sequence[Message], generation: bool) -> str:
    turns = "".join(
        f"<|start_header_id|>{m.role}<|end_header_id|>\n\n{m.content.strip()}<|eot_id|>"
        for m in messages
    )
    return turns + ("<|start_header_id|>assistant<|end_header_id|>\n\n" if generation else "")


LLAMA31_DATE_HEADER = "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n"


def _llama31(messages: Sequence[Message], generation: bool) -> str:
    """The first message is the system turn if it is one; that turn is there even when empty."""
    first_is_system = bool(messages) and messages[0].role == "system"
    system = messages[0].content.strip() if first_is_system else ""
    return (
        f"<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
        f"{LLAMA31_DATE_HEADER}{system}<|eot_id|>"
        + _llama3_turns(messages[1:] if first_is_system else messages, generation)
    )


def _chatml(messages: Sequence[Message], generation: bool) -> str:
    turns = "".join(f"<|im_start|>{m.role}\n{m.content}<|im_end|>\n" for m in messages)
    return turns + ("<|im_start|>assistant\n" if generation else "")


def _mistral(messages: Sequence[Message], generation: bool) -> str:
    turns = "".join(
        f"[INST] {m.content} [/INST]" if m.role == "user" else f" {m.content}</s>" for m in messages
    )
    return "<s>" + turns


BUILTINS: dict[str, BuiltinFormat] = {
    fmt.id: fmt
    for fmt in (
        BuiltinFormat("nemotron", ("<extra_id_1>", "<extra_id_0>", "</s>"), "\n", True, _nemotron),
        BuiltinFormat(
            "phi3",
            ("<|end|>", "<|user|>", "<|assistant|>", "<|system|>", "<|endoftext|>"),
            "<|end|>\n",
            True,
            _phi3,
        ),
        BuiltinFormat(
            "gemma", ("<end_of_turn>", "<start_of_turn>", "<eos>"), "<end_of_turn>\n", False, _gemma
        ),
        BuiltinFormat(
            "llama3",
            ("<|eot_id|>", "<|start_header_id|>", "<|end_of_text|>", "<|eom_id|>"),
            "<|eot_id|>",
            True,
            _llama3,
        ),
        BuiltinFormat(
            "llama31",
            ("<|eot_id|>", "<|start_header_id|>", "<|end_of_text|>", "<|eom_id|>"),
            "<|eot_id|>",
            True,
            _llama31,
        ),
        BuiltinFormat(
            "chatml", ("<|im_end|>", "<|im_start|>", "<|endoftext|>"), "<|im_end|>\n", True, _chatml
        ),
        BuiltinFormat(
            "mistral", ("</s>", "[INST]", "[/INST]"), "</s>", False, _mistral, reply_prefix=" "
        ),
    )
}
"""The built-in formats by family id, in the order users see them listed."""
