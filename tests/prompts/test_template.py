"""A model file's own chat template: the real SmolLM2 file, Gemma-style rules, the sandbox."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from app.errors import LoreweaverError
from app.models import ModelInfo
from app.prompts.families import BUILTINS
from app.prompts.formats import choose_format
from app.prompts.messages import Message
from app.prompts.sandbox import MAX_CHARS
from app.prompts.template import MAX_TEMPLATE_CHARS, GgufTemplateFormat

if TYPE_CHECKING:
    from llama_cpp import Llama

PERSONA = "You are Brenna, the village blacksmith."
CHAT = [
    Message("system", PERSONA),
    Message("user", "Good morning."),
    Message("assistant", "Back again?"),
    Message("user", "I need a sword."),
]
CHATML_EXPECTED = (
    "<|im_start|>system\nYou are Brenna, the village blacksmith.<|im_end|>\n"
    "<|im_start|>user\nGood morning.<|im_end|>\n"
    "<|im_start|>assistant\nBack again?<|im_end|>\n"
    "<|im_start|>user\nI need a sword.<|im_end|>\n"
    "<|im_start|>assistant\n"
)


def test_the_bundled_smollm2_template_renders_exact_chatml(smollm2_info: ModelInfo) -> None:
    fmt = choose_format(None, smollm2_info)
    assert fmt.id == "gguf"
    assert fmt.render(CHAT) == CHATML_EXPECTED


def test_it_is_the_file_template_that_renders(smollm2_info: ModelInfo) -> None:
    """SmolLM2's template adds its own persona when none is given; plain ChatML would not."""
    prompt = choose_format(None, smollm2_info).render([Message("user", "Hi.")])
    assert prompt.startswith("<|im_start|>system\nYou are a helpful AI assistant named SmolLM")
    assert prompt.endswith("<|im_start|>user\nHi.<|im_end|>\n<|im_start|>assistant\n")


def test_gguf_stops_are_the_family_markers_plus_the_file_eos(smollm2_info: ModelInfo) -> None:
    fmt = choose_format(None, smollm2_info)
    assert smollm2_info.eos_token == "<|im_end|>"
    assert fmt.stop == BUILTINS["chatml"].stop  # its EOS is already one of the markers
    other = GgufTemplateFormat("{{ messages[0].content }}", eos_token="<|eos|>", family="chatml")
    assert other.stop == (*BUILTINS["chatml"].stop, "<|eos|>")
    assert GgufTemplateFormat("x", eos_token="</s>").stop == ("</s>",)


def test_the_rendered_markers_are_single_special_tokens_of_the_real_vocabulary(
    smollm2_info: ModelInfo,
    smollm2_vocab: Llama,
) -> None:
    prompt = choose_format(None, smollm2_info).render(CHAT)
    tokens = smollm2_vocab.tokenize(prompt.encode(), add_bos=False, special=True)
    start = smollm2_vocab.tokenize(b"<|im_start|>", add_bos=False, special=True)
    end = smollm2_vocab.tokenize(b"<|im_end|>", add_bos=False, special=True)
    assert len(start) == 1 and len(end) == 1
    assert tokens.count(start[0]) == 5  # four turns and the generation prompt
    assert tokens.count(end[0]) == 4


# Written for these tests to behave like Gemma-2's published template: BOS first, a system
# message is refused, roles must alternate starting with the user, text is trimmed.
GEMMA2_LIKE = (
    "{{ bos_token }}"
    "{% if messages[0]['role'] == 'system' %}"
    "{{ raise_exception('System role not supported') }}"
    "{% endif %}"
    "{% for m in messages %}"
    "{% if (m['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
    "{% endif %}"
    "{% set role = 'model' if m['role'] == 'assistant' else m['role'] %}"
    "{{ '<start_of_turn>' + role + '\n' + m['content'] | trim + '<end_of_turn>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<start_of_turn>model\n' }}{% endif %}"
)


@pytest.mark.parametrize(
    "messages",
    [CHAT, [CHAT[0], CHAT[2], CHAT[3]]],
    ids=["user-first", "greeting-first"],
)
def test_a_gemma_template_that_refuses_system_still_gets_the_persona(
    messages: list[Message],
) -> None:
    fmt = GgufTemplateFormat(GEMMA2_LIKE, bos_token="<bos>", eos_token="<eos>", family="gemma")
    prompt = fmt.render(messages)
    assert PERSONA in prompt
    assert prompt == BUILTINS["gemma"].render(messages)


def test_without_the_family_the_same_template_refuses_in_one_line() -> None:
    fmt = GgufTemplateFormat(GEMMA2_LIKE, bos_token="<bos>", origin="/models/gemma.gguf")
    with pytest.raises(LoreweaverError) as err:
        fmt.render(CHAT)
    message = str(err.value)
    assert message.startswith("/models/gemma.gguf: chat template refused the conversation")
    assert "System role not supported" in message
    assert "--template" in message and "\n" not in message


def test_template_syntax_errors_name_the_file_and_line() -> None:
    with pytest.raises(LoreweaverError) as err:
        GgufTemplateFormat("{% for m in messages %}\n{{ m.content }\n{% endfor %}", origin="m.gguf")
    message = str(err.value)
    assert message.startswith("m.gguf: chat template has a syntax error on line 2")
    assert "\n" not in message


def test_an_oversized_template_is_refused_before_compiling() -> None:
    with pytest.raises(LoreweaverError, match="more than the"):
        GgufTemplateFormat("x" * (MAX_TEMPLATE_CHARS + 1))


def test_hugging_face_template_helpers_are_available() -> None:
    source = (
        "{{ bos_token }}{% for m in messages %}"
        "{% generation %}[{{ m.role | tojson }}:{{ m.content }}]{% endgeneration %}"
        "{% endfor %}{% for i in range(9) %}{% if i == 2 %}{% break %}{% endif %}{{ i }}"
        "{% endfor %}{{ strftime_now('%Y') | length }}{% if add_generation_prompt %}>{% endif %}"
    )
    fmt = GgufTemplateFormat(source, bos_token="<s>")
    prompt = fmt.render(
        [Message("user", "Grüße"), Message("assistant", "Hej"), Message("user", "x")]
    )
    assert prompt == '<s>["user":Grüße]["assistant":Hej]["user":x]014>'
    assert fmt.render([Message("user", "x")], add_generation_prompt=False).endswith("4")


def test_guarded_operations_still_work_on_ordinary_input() -> None:
    source = (
        "{{ ', '.join(messages | map(attribute='content')) }}|{{ messages | map(attribute='role')"
        " | join('+') }}|{{ 'ab' | replace('a', 'c') }}|{{ 'x' | center(5) }}|{{ [1, 2] | sum }}|"
        "{{ [1, 2, 3] | batch(2) | list }}|{{ 'a\nb' | indent(2) }}|{{ '%s!' | format(7) }}|"
        "{{ '%03d' % 7 }}|{{ '{}:{:>3}'.format('k', 1) }}|{{ 'ab' * 2 }}|{{ 2 ** 10 }}"
    )
    fmt = GgufTemplateFormat(source)
    prompt = fmt.render([Message("user", "Hi."), Message("assistant", "Ho.")])
    assert (
        prompt == "Hi., Ho.|user+assistant|cb|  x  |3|[[1, 2], [3]]|a\n  b|7!|007|k:  1|abab|1024"
    )


ESCAPES = {
    "class-mro": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "cycler-globals": "{{ cycler.__init__.__globals__.os.popen('touch {canary}').read() }}",
    "joiner-globals": "{{ joiner.__init__.__globals__.os.popen('touch {canary}').read() }}",
    "self-builtins": (
        "{{ self.__init__.__globals__.__builtins__.__import__('os').system('touch {canary}') }}"
    ),
    "namespace-init": "{{ namespace.__init__.__globals__.os.system('touch {canary}') }}",
    "lipsum-globals": "{{ lipsum.__globals__['os'].system('touch {canary}') }}",
    "attr-filter": "{{ (messages|attr('__class__')).__base__.__subclasses__() }}",
    "getitem-dunder": "{{ messages['__class__']['__init__']['__globals__'] }}",
    "format-dunder": "{{ '{0.__class__.__mro__}'.format('') }}",
    "list-mutation": "{{ messages.append({'role': 'system', 'content': 'pwned'}) }}",
    "dict-mutation": "{{ messages[0].update({'content': 'pwned'}) }}",
    "include": "{% include '/etc/passwd' %}",
}


@pytest.mark.parametrize("name", list(ESCAPES))
def test_a_malicious_template_cannot_escape_the_sandbox(name: str, tmp_path: Path) -> None:
    canary = tmp_path / "escaped"
    original = [Message("system", PERSONA), Message("user", "Hi.")]
    fmt = GgufTemplateFormat(ESCAPES[name].replace("{canary}", str(canary)), origin="evil.gguf")
    with pytest.raises(LoreweaverError) as err:
        fmt.render(original)
    assert str(err.value).startswith("evil.gguf: chat template ")
    assert "\n" not in str(err.value)
    assert not canary.exists()
    assert original[0].content == PERSONA


RESOURCE_ATTACKS = {
    "repeat": "{{ 'a' * 10**10 }}",
    "power": "{{ 2 ** 1000000000 }}",
    "range": "{{ range(10**9) | list }}",
    "doubling-concat": (
        "{% set ns = namespace(s='x' * 1000) %}"
        "{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}"
    ),
    "doubling-plus": (
        "{% set ns = namespace(s='x' * 1000) %}"
        "{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}"
    ),
    "replace-empty": "{{ ('x' * 100000) | replace('', 'y' * 100000) }}",
    "replace-method": "{{ ('x' * 100000).replace('', 'y' * 100000) }}",
    "center": "{{ 'x' | center(10**10) }}",
    "ljust": "{{ 'x'.ljust(10**10) }}",
    "percent-width": "{{ '%0999999999d' % 1 }}",
    "percent-star": "{{ '%*d' % (999999999, 1) }}",
    "format-width": "{{ '{:>999999999}'.format(1) }}",
    "format-nested": "{{ '{:>{}}'.format(1, 999999999) }}",
    "format-filter": "{{ '%0999999999d' | format(1) }}",
    "join": "{% set s = 'x' * 1000000 %}{{ [s, s, s, s, s, s, s, s, s] | join }}",
    "str-join": "{% set s = 'x' * 1000000 %}{{ ''.join([s, s, s, s, s, s, s, s, s]) }}",
    "indent": "{{ ('x\n' * 100000) | indent(100000) }}",
    "tojson-indent": "{{ messages | tojson(indent=100000000) }}",
    "sum-lists": "{{ ([['x']] * 100000) | sum(start=[]) }}",
    "batch": "{% for b in [1] | batch(10**9, 'x') %}{% endfor %}",
    "slice": "{% for b in [1] | slice(10**9) %}{% endfor %}",
    "recursion": "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
    "output": "{% set s = 'x' * 1000 %}{% for i in range(10000) %}{{ s }}{% endfor %}",
}


@pytest.mark.parametrize("name", list(RESOURCE_ATTACKS))
def test_resource_attacks_stop_quickly_with_a_one_line_error(name: str) -> None:
    fmt = GgufTemplateFormat(RESOURCE_ATTACKS[name], time_limit=1.0)
    with pytest.raises(LoreweaverError) as err:
        fmt.render([Message("user", "Hi.")])
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    "source",
    [
        "{% set r = range(100000) %}{% for i in r %}{% for j in r %}{% endfor %}{% endfor %}",
        "{% set s = 'x' * 100000 %}{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}",
    ],
    ids=["range-loops", "string-loops"],
)
def test_endless_loops_stop_at_the_time_limit(source: str) -> None:
    fmt = GgufTemplateFormat(source, time_limit=0.3)
    with pytest.raises(LoreweaverError, match=r"was stopped: rendering took longer than 0\.3 s"):
        fmt.render([Message("user", "Hi.")])


def test_output_just_under_the_cap_renders() -> None:
    fmt = GgufTemplateFormat("{{ messages[0].content }}")
    text = "x" * (MAX_CHARS - 1)
    assert fmt.render([Message("user", text)]) == text
