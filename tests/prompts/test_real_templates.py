"""Built-in formats against the models' own published templates, rendered by the same sandbox
that renders a file's template: Llama 3.0 and 3.1/3.2/3.3 byte for byte, Mistral's v0.2
and v0.3 templates on the `gguf` path."""

from __future__ import annotations

from datetime import datetime

import pytest
from prompts.chat_templates import (
    LLAMA_3_0,
    LLAMA_3_1,
    LLAMA_3_2,
    LLAMA_3_3,
    MISTRAL_V0_2,
    MISTRAL_V0_3,
)

from app.prompts.detect import detect_family
from app.prompts.families import BUILTINS, LLAMA31_DATE_HEADER
from app.prompts.messages import Message
from app.prompts.template import GgufTemplateFormat

PERSONA = "You are Brenna, the village blacksmith."
CHATS = {
    "user-first": [
        Message("system", PERSONA),
        Message("user", "Good morning."),
        Message("assistant", "Steel or bronze?"),
        Message("user", "Steel."),
    ],
    "greeting-first": [
        Message("system", PERSONA),
        Message("assistant", "Back again?"),
        Message("user", "I need a sword."),
    ],
    "no-persona": [Message("user", "Hello?")],
    "late-system": [
        Message("system", PERSONA),
        Message("user", "Good morning."),
        Message("assistant", "Steel or bronze?"),
        Message("system", "Keep it short."),
        Message("user", "Steel."),
    ],
}
LLAMA = "<|begin_of_text|>"


def llama(source: str) -> GgufTemplateFormat:
    return GgufTemplateFormat(
        source,
        bos_token=LLAMA,
        eos_token="<|eot_id|>",
        family=detect_family(source, "llama", None),
    )


@pytest.mark.parametrize(
    ("source", "family"),
    [(LLAMA_3_0, "llama3"), (LLAMA_3_1, "llama31"), (LLAMA_3_2, "llama31"), (LLAMA_3_3, "llama31")],
    ids=["3.0", "3.1", "3.2", "3.3"],
)
def test_each_llama_template_is_detected_as_its_family(source: str, family: str) -> None:
    assert detect_family(source, "llama", "Some fine-tune") == family


@pytest.mark.parametrize("generation", [True, False])
@pytest.mark.parametrize("chat", list(CHATS))
@pytest.mark.parametrize(
    ("source", "family"),
    [(LLAMA_3_0, "llama3"), (LLAMA_3_1, "llama31"), (LLAMA_3_3, "llama31")],
    ids=["3.0", "3.1", "3.3"],
)
def test_llama_builtins_equal_the_real_templates_byte_for_byte(
    source: str, family: str, chat: str, generation: bool
) -> None:
    messages = CHATS[chat]
    rendered = llama(source).render(messages, add_generation_prompt=generation)
    assert rendered == BUILTINS[family].render(messages, add_generation_prompt=generation)
    assert (LLAMA31_DATE_HEADER in rendered) == (family == "llama31")


@pytest.mark.parametrize("chat", list(CHATS))
def test_llama_3_2_writes_the_day_it_renders_on_and_otherwise_equals_llama31(chat: str) -> None:
    days = {datetime.now().strftime("%d %b %Y")}
    rendered = llama(LLAMA_3_2).render(CHATS[chat])
    days.add(datetime.now().strftime("%d %b %Y"))  # the render may straddle midnight
    builtin = BUILTINS["llama31"].render(CHATS[chat])
    assert rendered in {builtin.replace("26 Jul 2024", day) for day in days}


def test_llama31_opens_even_an_empty_persona_with_the_date_header() -> None:
    assert BUILTINS["llama31"].render(CHATS["no-persona"]) == (
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
        "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nHello?<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n"
    )


def mistral(source: str) -> GgufTemplateFormat:
    return GgufTemplateFormat(
        source, bos_token="<s>", eos_token="</s>", family=detect_family(source, "llama", None)
    )


def test_mistral_v3_template_puts_the_persona_before_the_last_user_turn() -> None:
    fmt = mistral(MISTRAL_V0_3)
    assert fmt.family == "mistral"
    assert fmt.render(CHATS["user-first"]) == (
        "<s>[INST] Good morning.[/INST] Steel or bronze?</s>"
        "[INST] You are Brenna, the village blacksmith.\n\nSteel.[/INST]"
    )
    assert fmt.note == ""  # the file's template, as written, with nothing folded


def test_mistral_v3_template_with_a_greeting_first_folds_what_it_refuses() -> None:
    """v0.3's template refuses an assistant turn right after the system text; the persona
    then opens the conversation as a user turn, as the built-in does, and the file's template
    still writes the turns (its `[/INST] ` reply space, no space before `[/INST]`)."""
    fmt = mistral(MISTRAL_V0_3)
    assert fmt.render(CHATS["greeting-first"]) == (
        "<s>[INST] You are Brenna, the village blacksmith.[/INST] Back again?</s>"
        "[INST] I need a sword.[/INST]"
    )
    assert fmt.note == ""  # refused and folded the family's way: nothing was lost


def test_mistral_v3_template_folds_a_late_system_note_it_refuses() -> None:
    prompt = mistral(MISTRAL_V0_3).render(CHATS["late-system"])
    assert prompt.endswith("[INST] Keep it short.\n\nSteel.[/INST]")
    assert prompt.startswith(f"<s>[INST] {PERSONA}\n\nGood morning.[/INST]")


@pytest.mark.parametrize("chat", list(CHATS))
def test_mistral_v2_template_and_the_builtin_differ_only_in_the_reply_space(chat: str) -> None:
    """The published v0.1/v0.2 template writes `[/INST]{reply}`, which llama.cpp tokenizes
    differently from Mistral's tokenizer (see test_mistral_tokens); the built-in writes the
    space. The `gguf` path follows the file."""
    messages = CHATS[chat]
    from_file = mistral(MISTRAL_V0_2).render(messages)
    builtin = BUILTINS["mistral"].render(messages)
    assert builtin.replace("[/INST] ", "[/INST]") == from_file
