"""Family detection from template snippets, architectures and names."""

from __future__ import annotations

import pytest

from app.prompts.detect import detect_family
from app.prompts.formats import FAMILIES

# Representative fragments of each family's published template (written for these tests).
SNIPPETS = {
    "chatml": "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n'}}",
    "nemotron": "{{'<extra_id_0>System'}}{{ '<extra_id_1>User\\n' + message['content'].strip() }}",
    "llama3": "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' }}",
    "llama31": (
        "{{- '<|start_header_id|>system<|end_header_id|>\\n\\n' }}"
        "{{- 'Cutting Knowledge Date: December 2023\\n' }}"
    ),
    "gemma": "{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>' }}",
    "phi3": "{{'<|user|>\\n' + message['content'] + '<|end|>\\n'}}{{ '<|assistant|>\\n' }}",
    "mistral": "{{ bos_token }}{{ '[INST] ' + message['content'] + ' [/INST]' }}",
}


@pytest.mark.parametrize("family", list(SNIPPETS))
def test_template_markers_decide(family: str) -> None:
    # A misleading architecture and name do not override the template.
    assert detect_family(SNIPPETS[family], "llama", "Some-Model-7B") == family


@pytest.mark.parametrize(
    "template",
    [
        # Llama 2
        "{{ '[INST] <<SYS>>\\n' + system + '\\n<</SYS>>\\n\\n' + content + ' [/INST]' }}",
        "{{ '<|user|>\\n' + message['content'] + '</s>' }}{{ '<|assistant|>' }}",  # Zephyr
        "{% for m in messages %}### {{ m.role }}:\\n{{ m.content }}\\n{% endfor %}",  # Alpaca-ish
    ],
    ids=["llama2", "zephyr", "alpaca"],
)
def test_an_unrecognised_template_is_none_even_when_the_name_suggests_a_family(
    template: str,
) -> None:
    assert detect_family(template, "llama", "Meta-Llama-3-8B-Instruct") is None


@pytest.mark.parametrize(
    ("architecture", "name", "family"),
    [
        ("gemma2", "gemma-2-2b-it", "gemma"),
        ("gemma3", "Gemma 3 270m", "gemma"),
        ("gemma4", "Gemma 4 E4B", None),
        ("phi3", "Phi 3.5 Mini Instruct", "phi3"),
        ("phi3", "Phi 4 Mini Instruct", "phi3"),
        ("phi3", "Phi 4", None),
        ("nemotron", "Nemotron Mini 4B Instruct", "nemotron"),
        ("nemotron_h", "Nemotron H 8B", None),
        ("qwen2", "Qwen2.5 0.5B Instruct", "chatml"),
        ("llama", "Meta Llama 3 8B Instruct", "llama3"),
        ("llama", "Meta-Llama-3-8B-Instruct", "llama3"),
        ("llama", "llama_3_8b_instruct", "llama3"),
        ("llama", "Meta Llama 3.1 8B Instruct", "llama31"),
        ("llama", "Llama-3.2-1B-Instruct", "llama31"),
        ("llama", "Llama 3.3 70B Instruct", "llama31"),
        ("llama", "llama3.2", "llama31"),
        ("llama", "Llama-3.1-Minitron-4B-Width-Base", "llama31"),
        ("llama", "Minitron 4B Llama", "llama3"),
        ("llama", "SmolLM2 135M Instruct", "chatml"),
        ("llama", "Mistral-7B-Instruct-v0.2", "mistral"),
        ("llama", "Mistral-Nemo-Instruct-2407", None),
        ("llama", "gemma-7b-it", "gemma"),
        ("llama", "Llama-2-7b-chat", None),
        ("llama", "TinyLlama 1.1B Chat", None),
        (None, None, None),
    ],
)
def test_without_a_template_architecture_then_name_decide(
    architecture: str | None, name: str | None, family: str | None
) -> None:
    assert detect_family(None, architecture, name) == family
    assert detect_family("   ", architecture, name) == family


def test_detection_only_returns_known_ids() -> None:
    found = {detect_family(snippet, None, None) for snippet in SNIPPETS.values()}
    assert found == set(FAMILIES)
