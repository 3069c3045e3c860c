"""Built-in renderers against prompts written by hand from each model card / published template."""

from __future__ import annotations

import re

import pytest

from app.prompts.families import BUILTINS
from app.prompts.messages import Message

PERSONA = "You are Brenna, the village blacksmith."
CHAT = [
    Message("system", PERSONA),
    Message("user", "Good morning."),
    Message("assistant", "Back again?"),
    Message("user", "I need a sword."),
]

# Each string below was typed from the family's model card and its tokenizer_config chat_template.
EXPECTED = {
    # Nemotron-Mini-4B-Instruct: system block, blank line, then turns each ending in a newline.
    "nemotron": (
        "<extra_id_0>System\nYou are Brenna, the village blacksmith.\n\n"
        "<extra_id_1>User\nGood morning.\n"
        "<extra_id_1>Assistant\nBack again?\n"
        "<extra_id_1>User\nI need a sword.\n"
        "<extra_id_1>Assistant\n"
    ),
    # Phi-3-mini (2024-07) / Phi-3.5-mini: every turn closes with <|end|> and a newline.
    "phi3": (
        "<|system|>\nYou are Brenna, the village blacksmith.<|end|>\n"
        "<|user|>\nGood morning.<|end|>\n"
        "<|assistant|>\nBack again?<|end|>\n"
        "<|user|>\nI need a sword.<|end|>\n"
        "<|assistant|>\n"
    ),
    # Gemma: <bos>, no system role, persona + blank line + first user message in one user turn.
    "gemma": (
        "<bos><start_of_turn>user\n"
        "You are Brenna, the village blacksmith.\n\nGood morning.<end_of_turn>\n"
        "<start_of_turn>model\nBack again?<end_of_turn>\n"
        "<start_of_turn>user\nI need a sword.<end_of_turn>\n"
        "<start_of_turn>model\n"
    ),
    # Llama 3: <|begin_of_text|>, headers followed by a blank line, <|eot_id|> with no newline.
    "llama3": (
        "<|begin_of_text|>"
        "<|start_header_id|>system<|end_header_id|>\n\n"
        "You are Brenna, the village blacksmith.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nGood morning.<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\nBack again?<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nI need a sword.<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n"
    ),
    # Llama 3.1/3.2/3.3: the system turn opens with the knowledge and today's date lines.
    "llama31": (
        "<|begin_of_text|>"
        "<|start_header_id|>system<|end_header_id|>\n\n"
        "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n"
        "You are Brenna, the village blacksmith.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nGood morning.<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\nBack again?<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nI need a sword.<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n"
    ),
    "chatml": (
        "<|im_start|>system\nYou are Brenna, the village blacksmith.<|im_end|>\n"
        "<|im_start|>user\nGood morning.<|im_end|>\n"
        "<|im_start|>assistant\nBack again?<|im_end|>\n"
        "<|im_start|>user\nI need a sword.<|im_end|>\n"
        "<|im_start|>assistant\n"
    ),
    # Mistral-7B-Instruct v0.1/v0.2: a reply is the space token's word after [/INST], closed by
    # </s>; the persona opens turn one.
    "mistral": (
        "<s>[INST] You are Brenna, the village blacksmith.\n\nGood morning. [/INST]"
        " Back again?</s>[INST] I need a sword. [/INST]"
    ),
}


@pytest.mark.parametrize("family", list(BUILTINS))
def test_two_turn_conversation_matches_the_model_card(family: str) -> None:
    assert BUILTINS[family].render(CHAT, add_generation_prompt=True) == EXPECTED[family]


def test_every_family_has_a_hand_written_expectation() -> None:
    assert set(EXPECTED) == set(BUILTINS)


GREETING_FIRST = [
    Message("system", PERSONA),
    Message("assistant", "Back again?"),
    Message("user", "I need a sword."),
]


def test_gemma_keeps_the_persona_and_never_emits_a_system_turn() -> None:
    prompt = BUILTINS["gemma"].render(CHAT)
    assert PERSONA in prompt
    assert "system" not in prompt


def test_gemma_with_the_greeting_first_gives_the_persona_its_own_user_turn() -> None:
    prompt = BUILTINS["gemma"].render(GREETING_FIRST)
    assert prompt == (
        "<bos><start_of_turn>user\nYou are Brenna, the village blacksmith.<end_of_turn>\n"
        "<start_of_turn>model\nBack again?<end_of_turn>\n"
        "<start_of_turn>user\nI need a sword.<end_of_turn>\n"
        "<start_of_turn>model\n"
    )
    roles = re.findall(r"<start_of_turn>(\w+)", prompt)
    assert roles == ["user", "model", "user", "model"]


def test_mistral_with_the_greeting_first_still_alternates() -> None:
    assert BUILTINS["mistral"].render(GREETING_FIRST) == (
        "<s>[INST] You are Brenna, the village blacksmith. [/INST]"
        " Back again?</s>[INST] I need a sword. [/INST]"
    )


@pytest.mark.parametrize("family", ["gemma", "mistral"])
def test_consecutive_messages_of_one_role_are_merged_where_alternation_is_required(
    family: str,
) -> None:
    messages = [Message("user", "Knock knock."), Message("user", "Anyone home?")]
    prompt = BUILTINS[family].render(messages)
    assert "Knock knock.\n\nAnyone home?" in prompt
    opener = "<start_of_turn>user" if family == "gemma" else "[INST]"
    assert prompt.count(opener) == 1


def test_gemma_folds_a_late_system_note_into_the_user_turn_next_to_it() -> None:
    messages = [*CHAT, Message("system", "Keep replies short.")]
    prompt = BUILTINS["gemma"].render(messages)
    assert prompt.endswith(
        "<start_of_turn>user\nI need a sword.\n\nKeep replies short.<end_of_turn>\n"
        "<start_of_turn>model\n"
    )


def test_an_opening_assistant_turn_without_persona_still_starts_with_a_user_turn() -> None:
    prompt = BUILTINS["gemma"].render([Message("assistant", "Hail!"), Message("user", "Hi.")])
    assert re.findall(r"<start_of_turn>(\w+)", prompt) == ["user", "model", "user", "model"]
    assert "Hail!" in prompt


def test_nemotron_always_opens_with_a_system_block() -> None:
    prompt = BUILTINS["nemotron"].render([Message("user", "Hello?")])
    assert prompt == "<extra_id_0>System\n\n<extra_id_1>User\nHello?\n<extra_id_1>Assistant\n"


def test_templates_that_trim_text_trim_it() -> None:
    messages = [Message("user", "  Hello?\n")]
    assert "\n\nHello?<|eot_id|>" in BUILTINS["llama3"].render(messages)
    assert "user\nHello?<end_of_turn>" in BUILTINS["gemma"].render(messages)
    assert "User\nHello?\n<extra_id_1>" in BUILTINS["nemotron"].render(messages)


@pytest.mark.parametrize("family", list(BUILTINS))
def test_without_generation_prompt_the_last_turn_is_closed_and_nothing_more(family: str) -> None:
    fmt = BUILTINS[family]
    closed = [*CHAT, Message("assistant", "Steel or bronze?")]
    assert fmt.render(closed, add_generation_prompt=False).endswith(
        "Steel or bronze?" + fmt.turn_end
    )


MARKERS = {
    "nemotron": {"<extra_id_1>", "</s>"},
    "phi3": {"<|end|>", "<|user|>", "<|endoftext|>"},
    "gemma": {"<end_of_turn>", "<start_of_turn>", "<eos>"},
    "llama3": {"<|eot_id|>", "<|start_header_id|>", "<|end_of_text|>"},
    "llama31": {"<|eot_id|>", "<|start_header_id|>", "<|end_of_text|>", "<|eom_id|>"},
    "chatml": {"<|im_end|>", "<|im_start|>"},
    "mistral": {"</s>", "[INST]"},
}


@pytest.mark.parametrize("family", list(BUILTINS))
def test_stop_strings_include_the_family_turn_markers(family: str) -> None:
    assert MARKERS[family] <= set(BUILTINS[family].stop)


LONG_CHAT = [
    Message("system", PERSONA),
    Message("assistant", "Back again?"),
    Message("user", "Good morning."),
    Message("assistant", "Steel or bronze?"),
    Message("user", "Steel."),
    Message("assistant", "Come back at sundown."),
    Message("user", "Deal."),
]


@pytest.mark.parametrize("greeting", [True, False], ids=["greeting", "no-greeting"])
@pytest.mark.parametrize("family", list(BUILTINS))
def test_prefix_stability(family: str, greeting: bool) -> None:
    """Prompt k, plus the reply (after the format's reply prefix) and the turn's end marker,
    begins prompt k + 2 (KV-cache reuse)."""
    fmt = BUILTINS[family]
    chat = LONG_CHAT if greeting else [LONG_CHAT[0], *LONG_CHAT[2:]]
    checked = 0
    for k in range(1, len(chat) - 1):
        if chat[k - 1].role != "user" or chat[k].role != "assistant":
            continue
        before = fmt.render(chat[:k], add_generation_prompt=True)
        after = fmt.render(chat[: k + 2], add_generation_prompt=True)
        reply = fmt.reply_prefix + chat[k].content + fmt.turn_end
        assert after.startswith(before + reply), (k, before, after)
        assert after.startswith(fmt.render(chat[:k], add_generation_prompt=False))
        checked += 1
    assert checked >= 2
