"""The public API: choosing a format for a model, built-in lookup, role-play stop strings."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from app.errors import LoreweaverError
from app.home import Home
from app.models import ModelInfo
from app.prompts.families import BUILTINS
from app.prompts.formats import FAMILIES, choose_format, get_format, role_play_stops
from app.prompts.messages import Message

ALL_IDS = "nemotron, phi3, gemma, llama3, llama31, chatml, mistral"


def bare_model(**fields: Any) -> ModelInfo:
    """A model file without a chat template (fields as the GGUF reader would report them)."""
    base = ModelInfo(path=Path("/models/mystery.gguf"), name="mystery", source="path", file_size=1)
    return replace(base, **fields)


def test_the_family_ids_in_order() -> None:
    assert FAMILIES == ("nemotron", "phi3", "gemma", "llama3", "llama31", "chatml", "mistral")
    assert tuple(BUILTINS) == FAMILIES


@pytest.mark.parametrize("family", FAMILIES)
def test_get_format_returns_the_builtin(family: str) -> None:
    fmt = get_format(family.upper())
    assert fmt.id == family
    assert fmt.render([Message("user", "Hi.")])


def test_get_format_with_an_unknown_id_lists_the_valid_ones() -> None:
    with pytest.raises(LoreweaverError) as err:
        get_format("llama2")
    assert str(err.value) == f"unknown prompt format 'llama2'; valid formats: {ALL_IDS}"


def test_an_explicit_family_wins_over_the_file_template(smollm2_info: ModelInfo) -> None:
    fmt = choose_format("gemma", smollm2_info)
    assert fmt.id == "gemma"
    assert fmt.render([Message("user", "Hi.")]).startswith("<bos><start_of_turn>user\n")


def test_gguf_and_no_request_use_the_file_template(smollm2_info: ModelInfo) -> None:
    assert choose_format("gguf", smollm2_info).id == "gguf"
    assert choose_format(None, smollm2_info).id == "gguf"
    assert choose_format("  ", smollm2_info).id == "gguf"  # an empty setting means "not set"


def test_gguf_without_a_template_is_an_error_naming_the_file() -> None:
    with pytest.raises(LoreweaverError) as err:
        choose_format("gguf", bare_model(family="chatml"))
    assert str(err.value) == (
        "/models/mystery.gguf: the model file has no chat template; "
        f"pass --template with one of: {ALL_IDS}"
    )


def test_no_template_falls_back_to_the_detected_family() -> None:
    assert choose_format(None, bare_model(family="phi3")).id == "phi3"
    assert (
        choose_format(None, bare_model(architecture="gemma2", name="gemma-2-2b-it")).id == "gemma"
    )


def test_no_template_and_no_family_is_an_error_not_a_silent_fallback() -> None:
    with pytest.raises(LoreweaverError) as err:
        choose_format(None, bare_model(architecture="llama", name="Llama-2-7b-chat"))
    message = str(err.value)
    assert message.startswith("/models/mystery.gguf: ")
    assert "family is unknown" in message and f"--template with one of: {ALL_IDS}" in message


def test_an_unknown_request_lists_every_valid_id(smollm2_info: ModelInfo) -> None:
    with pytest.raises(LoreweaverError) as err:
        choose_format("alpaca", smollm2_info)
    assert str(err.value) == f"unknown prompt format 'alpaca'; valid formats: {ALL_IDS}, gguf"


def test_a_template_that_rejects_a_chat_fails_when_chosen_not_mid_chat() -> None:
    refuses_system = (
        "{% for m in messages %}{% if m.role == 'system' %}"
        "{{ raise_exception('no system role here') }}{% endif %}{{ m.content }}{% endfor %}"
    )
    with pytest.raises(LoreweaverError, match="refused the conversation: no system role here"):
        choose_format(None, bare_model(chat_template=refuses_system))


def test_a_broken_template_fails_when_chosen() -> None:
    with pytest.raises(
        LoreweaverError, match=r"^/models/mystery\.gguf: chat template has a syntax error"
    ):
        choose_format(None, bare_model(chat_template="{% if %}"))


def test_role_play_stops_add_the_user_name_at_a_line_start() -> None:
    fmt = get_format("chatml")
    stops = role_play_stops(fmt, "Aldric")
    assert stops[: len(fmt.stop)] == list(fmt.stop)
    assert stops[len(fmt.stop) :] == ["\nAldric:", "\nAldric :"]


def test_role_play_stops_normalise_the_name_and_skip_a_blank_one() -> None:
    fmt = get_format("gemma")
    assert role_play_stops(fmt, "  Sir   Aldric ")[-2:] == ["\nSir Aldric:", "\nSir Aldric :"]
    assert role_play_stops(fmt, "   ") == list(fmt.stop)


def test_the_bundled_model_through_the_real_registry_gets_its_own_chatml_template(
    lw_home: Home,
) -> None:
    from app.models import resolve_model

    info = resolve_model(lw_home, None)
    fmt = choose_format(None, info)
    assert (info.family, fmt.id) == ("chatml", "gguf")
    prompt = fmt.render([Message("system", "You are Brenna."), Message("user", "Hi.")])
    assert prompt == (
        "<|im_start|>system\nYou are Brenna.<|im_end|>\n"
        "<|im_start|>user\nHi.<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    assert "<|im_end|>" in fmt.stop and "<|im_start|>" in fmt.stop
