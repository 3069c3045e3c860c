"""Chat templates are bounded by the operating system (a child process with CPU-time and memory
limits and a wall-clock kill), render once per conversation shape, and a failing template hands
over to its detected family with a one-line note."""

from __future__ import annotations

import dataclasses

import pytest

from app.errors import LoreweaverError
from app.models import ModelInfo
from app.prompts.families import BUILTINS
from app.prompts.formats import choose_format
from app.prompts.messages import Message
from app.prompts.template import GgufTemplateFormat
from app.prompts.template_worker import WORKER

CHATML = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
CHAT = [Message("system", "Persona."), Message("user", "Hi.")]
# Work inside single filter calls, where the sandbox's line tracer cannot look.
FILTER_BOMBS = {
    "wordwrap": "{{ ('x ' * 3000000) | wordwrap(2) | length }}",
    "urlize": "{{ ('www.a.io ' * 800000) | urlize | length }}",
    "sort": "{% for i in range(100000) %}{{ (range(100000) | list | sort)[0] }}{% endfor %}",
    "center": "{% for i in range(100000) %}{{ ('x' * 10) | center(7000000) | length }}{% endfor %}",
    "memory": "{% set ns = namespace(l=[]) %}{% for i in range(100000) %}"
    "{% set ns.l = ns.l + [range(100000) | list] %}{% endfor %}",
}


def _info(template: str, smollm2_info: ModelInfo) -> ModelInfo:
    return dataclasses.replace(smollm2_info, chat_template=template)


@pytest.mark.parametrize("name", list(FILTER_BOMBS))
def test_work_inside_filters_is_stopped_and_the_family_takes_over(
    name: str, smollm2_info: ModelInfo
) -> None:
    fmt = choose_format(None, _info(CHATML + FILTER_BOMBS[name], smollm2_info))
    assert fmt.id == "chatml"
    assert fmt.note.startswith(f"{smollm2_info.path.name}: chat template ")
    assert fmt.note.endswith("; using the built-in chatml format instead")
    assert "\n" not in fmt.note
    assert fmt.render(CHAT) == BUILTINS["chatml"].render(CHAT)


def test_asking_for_the_file_template_by_name_gets_the_error_instead(
    smollm2_info: ModelInfo,
) -> None:
    with pytest.raises(LoreweaverError) as caught:
        choose_format("gguf", _info(CHATML + FILTER_BOMBS["center"], smollm2_info))
    message = str(caught.value)
    assert "chat template was stopped" in message and "--template" in message
    assert "\n" not in message


def test_without_a_family_a_failing_template_stays_an_error(smollm2_info: ModelInfo) -> None:
    with pytest.raises(LoreweaverError, match="chat template was stopped"):
        choose_format(None, _info("{{ ('x' * 10) | center(7000000) }}" * 2, smollm2_info))


def test_a_template_failing_on_a_later_shape_falls_back_mid_chat() -> None:
    source = CHATML + "{% if messages | length > 3 %}{{ raise_exception('too long') }}{% endif %}"
    fmt = GgufTemplateFormat(source, family="chatml", fallback=True)
    plain = BUILTINS["chatml"]
    assert fmt.render(CHAT, add_generation_prompt=False) == plain.render(
        CHAT, add_generation_prompt=False
    )
    assert fmt.note == ""
    longer = [*CHAT, Message("assistant", "Yes?"), Message("user", "More.")]
    assert fmt.render(longer) == plain.render(longer)
    assert fmt.note.startswith("chat template refused the conversation: too long")


def test_each_shape_renders_once_and_turns_reuse_it(smollm2_info: ModelInfo) -> None:
    fmt = choose_format(None, smollm2_info)
    WORKER.close()  # the child is gone: a render that needed it would have to start it
    for i in range(5):
        fmt.render([*CHAT[:1], Message("user", f"Line {i} <|im_end|>")])
    assert WORKER._proc is None


def test_a_killed_renderer_is_replaced() -> None:
    fmt = GgufTemplateFormat(CHATML, family="chatml")
    fmt.render(CHAT)
    assert WORKER._proc is not None
    WORKER._proc.kill()
    WORKER._proc.wait()
    assert GgufTemplateFormat(CHATML + "!", family="chatml").render(CHAT).endswith("!")
