"""The JSON line of each training format, built from an example and checked against the rules
of the tools that read it.

- `chatml-messages`: `{"messages": [{"role", "content"}…]}`, the conversational format of
  OpenAI's fine-tuning and TRL's `SFTTrainer`: the persona as the system message, then the
  path exactly as the app sends it (the character's greeting may come before any user line).
- `sharegpt`: `{"conversations": [{"from", "value"}…]}` with `system`/`human`/`gpt`, as
  LLaMA-Factory's `sharegpt` formatting and axolotl read it. LLaMA-Factory requires `human`
  first and strict alternation after the optional system turn, so the turns are reshaped the
  way the app reshapes them for alternation-only templates (`normalise.alternating`): a
  greeting first gets an empty human turn before it, same-role neighbours are joined.
- `text`: `{"text": …}`, the whole example rendered in the model's own prompt format (TRL's
  language-modelling format, axolotl's `completion`): exactly the tokens the app sends.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.dataset.examples import ChatExample
from app.prompts.formats import PromptFormat
from app.prompts.normalise import alternating

Format = Literal["chatml-messages", "sharegpt", "text"]
FORMATS: tuple[Format, ...] = ("chatml-messages", "sharegpt", "text")
SHAREGPT_FROM = {"system": "system", "user": "human", "assistant": "gpt"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ChatMessage(_Strict):
    role: Literal["system", "user", "assistant"]
    content: str


class MessagesRecord(_Strict):
    messages: list[ChatMessage] = Field(min_length=2)

    @model_validator(mode="after")
    def _order(self) -> MessagesRecord:
        roles = [m.role for m in self.messages]
        if "system" in roles[1:]:
            raise ValueError("a system message only comes first")
        if roles[-1] != "assistant" or "user" not in roles:
            raise ValueError("needs a user line and must end with an assistant reply")
        return self


class ShareGPTTurn(_Strict):
    from_: Literal["system", "human", "gpt"] = Field(alias="from")
    value: str


class ShareGPTRecord(_Strict):
    conversations: list[ShareGPTTurn] = Field(min_length=2)

    @model_validator(mode="after")
    def _alternation(self) -> ShareGPTRecord:
        turns = [t.from_ for t in self.conversations]
        if turns[0] == "system":
            turns = turns[1:]
        expected = ["human", "gpt"] * (len(turns) // 2 + 1)
        if not turns or len(turns) % 2 or turns != expected[: len(turns)]:
            raise ValueError("after the system turn: human, gpt, human, gpt… ending with gpt")
        return self


class TextRecord(_Strict):
    text: str = Field(min_length=1)


RECORDS: dict[Format, type[_Strict]] = {
    "chatml-messages": MessagesRecord,
    "sharegpt": ShareGPTRecord,
    "text": TextRecord,
}


def record(example: ChatExample, form: Format, fmt: PromptFormat) -> dict[str, Any]:
    """The example's JSON object in `form`, checked against that format's rules."""
    data: dict[str, Any]
    if form == "text":
        data = {"text": example.rendered(fmt)}
    elif form == "sharegpt":
        turns = alternating(example.messages[1:])
        data = {
            "conversations": [{"from": "system", "value": example.system}]
            + [{"from": SHAREGPT_FROM[m.role], "value": m.content} for m in turns]
        }
    else:
        data = {"messages": [{"role": m.role, "content": m.content} for m in example.messages]}
    RECORDS[form].model_validate(data)
    return data
