"""Which prompt family a model file belongs to, from its chat template, architecture and name.

The template is the strongest evidence: its turn markers are exactly what the model was tuned
on. A file whose template shows none of the known markers uses some other format, so the
answer is None rather than a guess from the name. Without a template, the architecture and
then the name decide; None whenever they do not point at one family.
"""

from __future__ import annotations

import re

_TEMPLATE_MARKERS: tuple[tuple[str, str], ...] = (
    ("<|im_start|>", "chatml"),
    ("<extra_id_1>", "nemotron"),
    ("<|start_header_id|>", "llama3"),
    ("<start_of_turn>", "gemma"),
)
_LLAMA31_HEADER = "Cutting Knowledge Date:"
"""What every Llama 3.1/3.2/3.3 template writes atop the system turn, and 3.0's never does."""

_ARCHITECTURES: dict[str, str] = {
    # Listed one by one: a new generation may change its markers (Gemma 4 did).
    **dict.fromkeys(("gemma", "gemma2", "gemma3", "gemma3n"), "gemma"),
    **dict.fromkeys(("qwen2", "qwen2moe", "qwen3", "qwen3moe"), "chatml"),
    "nemotron": "nemotron",  # not `nemotron_h`, whose hybrid models use other markers
    "phi3": "phi3",  # also Phi-4-mini; Phi-4 (14B) shares the architecture but not the format
}

_LLAMA3 = re.compile(r"llama[\s_.-]*3")
_LLAMA31 = re.compile(r"llama[\s_.-]*3[._][1-9](?!\d*b)")
"""3.1, 3.2, 3.3 — not `llama-3-8b` nor `llama_3_8b` (3.0, 8B)."""
# `gemma-7b` is a size, `gemma-4` a generation with other markers.
_GEMMA_1_TO_3 = re.compile(r"gemma(?![\s_.-]*[4-9](?![\d.]*b))")
_PHI4_NOT_MINI = re.compile(r"phi[\s_.-]*4(?!.*mini)")
_PHI3 = re.compile(r"phi[\s_.-]*(3|4.*mini)")
_MISTRAL_LATER = re.compile(r"nemo|small|large|ministral|magistral|devstral|codestral|pixtral")


def detect_family(
    chat_template: str | None, architecture: str | None, name: str | None
) -> str | None:
    """A family id from `FAMILIES`, or None when the evidence is missing or ambiguous."""
    if chat_template and chat_template.strip():
        return _from_template(chat_template)
    arch = (architecture or "").strip().lower()
    label = (name or "").strip().lower()
    if arch == "phi3" and _PHI4_NOT_MINI.search(label):
        return None
    return _ARCHITECTURES.get(arch) or _from_name(label)


def _from_template(template: str) -> str | None:
    for marker, family in _TEMPLATE_MARKERS:
        if marker in template:
            return "llama31" if family == "llama3" and _LLAMA31_HEADER in template else family
    if "<|assistant|>" in template and "<|end|>" in template:
        return "phi3"
    if "[INST]" in template and "<<SYS>>" not in template:
        return "mistral"
    return None


def _from_name(label: str) -> str | None:
    """Families recognisable from `general.name` (or the file stem) of a llama-architecture file."""
    if _LLAMA31.search(label):
        return "llama31"
    if _LLAMA3.search(label) or ("minitron" in label and "llama" in label):
        return "llama3"
    if _GEMMA_1_TO_3.search(label):
        return "gemma"
    if _PHI4_NOT_MINI.search(label):
        return None
    if _PHI3.search(label):
        return "phi3"
    if "nemotron-mini" in label or "nemotron mini" in label:
        return "nemotron"
    if any(word in label for word in ("qwen", "smollm", "hermes", "chatml")):
        return "chatml"
    if ("mistral" in label or "mixtral" in label) and not _MISTRAL_LATER.search(label):
        return "mistral"
    return None
