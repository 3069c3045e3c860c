"""A file's own template must keep the whole conversation: a template that drops the persona
(the first Phi-3-mini release's skips `system` messages) or gives an opening greeting no role
header gets the conversation folded into user-first turns, with one note saying so."""

from __future__ import annotations

import json
from pathlib import Path

import ggufdata
import pytest
from hostile.gguf_files import with_template
from prompts.chat_templates import LLAMA_3_0, LLAMA_3_1, PHI3_5_MINI, PHI3_MINI_2024_04
from support import run_cli

from app.errors import LoreweaverError
from app.models import ModelInfo, bundled_model_path, read_model_info
from app.prompts.families import BUILTINS
from app.prompts.formats import choose_format, format_note
from app.prompts.messages import Message
from app.prompts.template import GgufTemplateFormat

PERSONA = "You are Brenna, the village blacksmith."
GREETING = "Back again? The forge is hot."
USER_FIRST = [
    Message("system", PERSONA),
    Message("user", "Good morning."),
    Message("assistant", "Steel or bronze?"),
    Message("user", "Steel."),
]
GREETING_FIRST = [
    Message("system", PERSONA),
    Message("assistant", GREETING),
    Message("user", "I need a sword."),
]


def phi3_file(tmp_path: Path, template: str = PHI3_MINI_2024_04) -> Path:
    """A GGUF header shaped like Phi-3-mini-4k-instruct's April 2024 file."""
    tokens = ["<unk>", "<s>", "</s>", "<|endoftext|>", "<|user|>", "<|assistant|>", "<|end|>"]
    kvs = ggufdata.model_kvs(
        "phi3",
        general__name=(ggufdata.STRING, "Phi3"),
        tokenizer__ggml__model=(ggufdata.STRING, "llama"),
        tokenizer__ggml__tokens=(ggufdata.ARRAY, (ggufdata.STRING, tokens)),
        tokenizer__ggml__bos_token_id=(ggufdata.U32, 1),
        tokenizer__ggml__eos_token_id=(ggufdata.U32, 3),
        tokenizer__chat_template=(ggufdata.STRING, template),
    )
    path = tmp_path / "Phi-3-mini-4k-instruct-q4.gguf"
    path.write_bytes(ggufdata.gguf(kvs))
    return path


@pytest.fixture
def phi3(tmp_path: Path) -> ModelInfo:
    info = read_model_info(phi3_file(tmp_path), "path")
    assert info.usable and (info.family, info.bos_token) == ("phi3", "<s>"), info
    return info


@pytest.mark.parametrize("requested", [None, "gguf"])
def test_phi3_april_keeps_the_persona_in_the_first_user_turn(
    phi3: ModelInfo, requested: str | None
) -> None:
    fmt = choose_format(requested, phi3)
    assert fmt.id == "gguf"  # still the file's own template, fed the folded conversation
    assert fmt.render(USER_FIRST) == (
        "<s><|user|>\nYou are Brenna, the village blacksmith.\n\nGood morning.<|end|>\n"
        "<|assistant|>\nSteel or bronze?<|end|>\n"
        "<|user|>\nSteel.<|end|>\n<|assistant|>\n"
    )
    assert fmt.note == (
        "Phi-3-mini-4k-instruct-q4.gguf: chat template drops the system text; "
        "the persona goes into a user turn instead"
    )


def test_phi3_april_gives_the_opening_greeting_its_role_header(phi3: ModelInfo) -> None:
    fmt = choose_format(None, phi3)
    assert fmt.render(GREETING_FIRST) == (
        "<s><|user|>\nYou are Brenna, the village blacksmith.<|end|>\n"
        f"<|assistant|>\n{GREETING}<|end|>\n"
        "<|user|>\nI need a sword.<|end|>\n<|assistant|>\n"
    )
    # Without a persona the greeting still follows a (empty) user turn and its own header.
    no_persona = fmt.render(GREETING_FIRST[1:])
    assert no_persona.startswith(f"<s><|user|>\n<|end|>\n<|assistant|>\n{GREETING}<|end|>\n")


def test_what_the_unchecked_template_would_have_sent(phi3: ModelInfo) -> None:
    """The loss is real: rendered as given, the persona is gone and the greeting is bare."""
    from app.prompts.template_worker import WORKER

    context = {
        "messages": [{"role": m.role, "content": m.content} for m in GREETING_FIRST],
        "add_generation_prompt": True,
        "bos_token": "<s>",
        "eos_token": "<|endoftext|>",
    }
    (raw,) = WORKER.render(PHI3_MINI_2024_04, [context], 2.0)
    assert PERSONA not in raw
    assert raw.startswith(f"<s>{GREETING}<|end|>")


def test_the_note_is_said_once_and_only_for_a_lossy_template(
    phi3: ModelInfo, smollm2_info: ModelInfo
) -> None:
    fmt = choose_format(None, phi3)
    first = fmt.note
    for chat in (USER_FIRST, GREETING_FIRST, [*USER_FIRST, Message("system", "Be brief.")]):
        fmt.render(chat)
    assert fmt.note == first  # one note, not one per shape
    assert format_note(phi3) == first
    assert format_note(smollm2_info) == ""
    assert choose_format(None, smollm2_info).note == ""


# Lossy templates written for this test, each a known family's markup that loses something
# a different way: the check is generic, not a list of bad templates.
CHATML_TURN = "<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n"
GENERATION = "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
LOSSY = {
    "skips-system": "{% for m in messages %}{% if m.role != 'system' %}"
    + CHATML_TURN
    + "{% endif %}{% endfor %}"
    + GENERATION,
    "keeps-only-the-first-system": "{% for m in messages %}"
    "{% if m.role != 'system' or loop.first %}"
    + CHATML_TURN
    + "{% endif %}{% endfor %}"
    + GENERATION,
    "headerless-reply-after-system": "{% for m in messages %}"
    "{% if m.role == 'user' %}<|im_start|>user\n{{ m.content }}<|im_end|>\n"
    "<|im_start|>assistant\n{% elif m.role == 'assistant' %}{{ m.content }}<|im_end|>\n"
    "{% else %}<|im_start|>system\n{{ m.content }}<|im_end|>\n{% endif %}{% endfor %}",
}
CHATS = {
    "user-first": USER_FIRST,
    "greeting-first": GREETING_FIRST,
    "late-system": [*USER_FIRST, Message("system", "Keep it short.")],
    "two-systems": [Message("system", "World."), *GREETING_FIRST],
}


@pytest.mark.parametrize("chat", list(CHATS))
@pytest.mark.parametrize("template", list(LOSSY))
def test_every_message_text_survives_any_lossy_template(template: str, chat: str) -> None:
    messages = CHATS[chat]
    fmt = GgufTemplateFormat(LOSSY[template], family="chatml", origin="m.gguf")
    prompt = fmt.render(messages)
    for message in messages:
        assert message.content in prompt, (template, chat, prompt)
    greeting = [m.content for m in messages if m.role == "assistant"][0]
    if messages[[m.role for m in messages].index("assistant") - 1].role != "user":
        assert f"<|im_start|>assistant\n{greeting}" in prompt, prompt  # the greeting's header
    if fmt.note:
        assert fmt.note.startswith("m.gguf: chat template ") and "\n" not in fmt.note


def test_a_faithful_template_sees_the_conversation_unchanged() -> None:
    fmt = GgufTemplateFormat(
        "{% for m in messages %}" + CHATML_TURN + "{% endfor %}" + GENERATION,
        family="chatml",
    )
    for messages in CHATS.values():
        assert fmt.render(messages) == BUILTINS["chatml"].render(messages)
    assert fmt.note == ""


@pytest.mark.parametrize(
    ("source", "family", "bos"),
    [
        (PHI3_5_MINI, "phi3", ""),
        (LLAMA_3_0, "llama3", "<|begin_of_text|>"),
        (LLAMA_3_1, "llama31", "<|begin_of_text|>"),
    ],
    ids=["phi-3.5", "llama-3.0", "llama-3.1"],
)
def test_real_templates_that_keep_everything_get_no_note(
    source: str, family: str, bos: str
) -> None:
    fmt = GgufTemplateFormat(source, bos_token=bos, family=family)
    for messages in CHATS.values():
        assert fmt.render(messages) == BUILTINS[family].render(messages)
    assert fmt.note == ""


DROPS_USERS = (
    "{% for m in messages %}{% if m.role == 'assistant' %}"
    + CHATML_TURN
    + "{% endif %}{% endfor %}"
)


def test_a_template_that_loses_text_even_folded_hands_over_or_fails(
    smollm2_info: ModelInfo,
) -> None:
    import dataclasses

    info = dataclasses.replace(smollm2_info, chat_template=DROPS_USERS)
    fmt = choose_format(None, info)
    assert fmt.id == "chatml"
    assert fmt.note.endswith("; using the built-in chatml format instead")
    assert "drops message text" in fmt.note
    with pytest.raises(LoreweaverError, match="drops message text") as caught:
        choose_format("gguf", info)
    assert "\n" not in str(caught.value)


def test_models_lists_the_note(tmp_path: Path) -> None:
    path = phi3_file(tmp_path)
    result = run_cli("models", "--json", "--model", str(path))
    assert result.returncode == 0, result.stderr
    (row,) = [r for r in json.loads(result.stdout) if r["path"] == str(path)]
    assert "chat template drops the system text" in row["format_note"]
    table = run_cli("models", "--model", str(path))
    assert table.returncode == 0, table.stderr
    notes = [line for line in table.stdout.splitlines() if "drops the system text" in line]
    assert len(notes) == 1


def test_prompt_explain_says_so_once_and_the_persona_is_in_the_prompt(tmp_path: Path) -> None:
    model = bundled_model_path()
    assert model is not None
    path = tmp_path / "phi3-april.gguf"
    path.write_bytes(with_template(model, PHI3_MINI_2024_04))
    explained = run_cli("prompt", "brenna", "--model", str(path), "--say", "Hi.", "--explain")
    assert explained.returncode == 0, explained.stderr
    said = (explained.stdout + explained.stderr).count("drops the system text")
    assert said == 1, explained.stdout + explained.stderr
    plain = run_cli("prompt", "brenna", "--model", str(path), "--say", "Hi.")
    assert plain.returncode == 0, plain.stderr
    # The bundled file's BOS, then the sheet opening the first user turn; the line said last.
    assert plain.stdout.startswith("<|im_start|><|user|>\nYou are Brenna Ironhand.")
    last_turn = plain.stdout.rsplit("<|user|>\n", 1)[1]
    assert last_turn.startswith("Hi.") and last_turn.endswith("<|end|>\n<|assistant|>\n")
