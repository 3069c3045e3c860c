"""The public face of prompt formats: pick one for a model, render messages, know where to stop.

Policy (`choose_format`): an explicit family id wins; `gguf` means the file's own template; with
no request, the file's template if it has one, else the built-in for its detected family, else
an error. A file template that fails (at start or on a later conversation shape) hands over to
its detected family's renderer with a one-line `note`, unless `gguf` was asked for by name; one
that drops the persona folds it into a user turn, also with a `note` (see `template`). It
never falls back silently, nor to an unrelated format — a wrong format makes a small model
ramble on in the wrong voice, which looks like a model problem rather than a setup one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from app.errors import LoreweaverError
from app.prompts.detect import detect_family
from app.prompts.families import BUILTINS
from app.prompts.messages import Message
from app.prompts.segments import Prompt
from app.prompts.template import GgufTemplateFormat, TemplateFailed
from app.prompts.template_worker import WORKER

FAMILIES: tuple[str, ...] = tuple(BUILTINS)
GGUF = "gguf"

_PROBES: tuple[tuple[Message, ...], ...] = (
    (Message("system", "Persona."), Message("user", "Hello.")),
    (Message("system", "Persona."), Message("assistant", "Greeting."), Message("user", "Hello.")),
)


class PromptFormat(Protocol):
    @property
    def id(self) -> str:
        """A family id, or "gguf" for the model file's own template."""
        ...

    @property
    def stop(self) -> tuple[str, ...]:
        """Stop strings: the format's turn markers (`role_play_stops` adds the user's name)."""
        ...

    @property
    def note(self) -> str:
        """Empty, or one line on why this format stands in for the model file's template."""
        ...

    def render(
        self, messages: Sequence[Message], *, add_generation_prompt: bool = True
    ) -> Prompt: ...


def _valid_ids() -> str:
    return ", ".join((*FAMILIES, GGUF))


def get_format(family: str) -> PromptFormat:
    """The built-in renderer for a family id."""
    key = family.strip().lower()
    if key not in BUILTINS:
        raise LoreweaverError(
            f"unknown prompt format {family!r}; valid formats: {', '.join(FAMILIES)}"
        )
    return BUILTINS[key]


def warm_up(requested: str | None) -> None:
    """Start the template renderer's child now, unless a built-in family is asked for: it
    starts up while the caller reads the sheet and the model header."""
    if (requested or "").strip().lower() not in FAMILIES:
        WORKER.warm_up()


class ModelFacts(Protocol):
    """What choosing a format reads of a model file (`app.models.ModelInfo` has it): prompts
    know nothing of how models are found."""

    @property
    def path(self) -> Path: ...
    @property
    def name(self) -> str: ...
    @property
    def architecture(self) -> str | None: ...
    @property
    def chat_template(self) -> str | None: ...
    @property
    def family(self) -> str | None: ...
    @property
    def bos_token(self) -> str | None: ...
    @property
    def eos_token(self) -> str | None: ...
    @property
    def usable(self) -> bool: ...


def choose_format(requested: str | None, info: ModelFacts) -> PromptFormat:
    """The format to talk to `info`'s model with, per the policy in the module docstring."""
    key = (requested or "").strip().lower()
    if key and key not in FAMILIES and key != GGUF:
        raise LoreweaverError(f"unknown prompt format {requested!r}; valid formats: {_valid_ids()}")
    if key in FAMILIES:
        return BUILTINS[key]
    template = info.chat_template if info.chat_template and info.chat_template.strip() else None
    if template is not None:
        family = detect_family(template, info.architecture, info.name)
        try:
            fmt = GgufTemplateFormat(
                template,
                bos_token=info.bos_token or "",
                eos_token=info.eos_token or "",
                family=family,
                origin=info.path,
                fallback=key != GGUF,
            )
            for probe in _PROBES:  # a template that rejects a chat's shape fails now, not mid-chat
                fmt.render(probe)
        except TemplateFailed as exc:
            if key == GGUF or family not in BUILTINS:
                raise
            note = f"{exc.reason}; using the built-in {family} format instead"
            return dataclasses.replace(BUILTINS[family], note=f"{info.path.name}: {note}")
        if fmt.replaced and fmt.family:
            return dataclasses.replace(BUILTINS[fmt.family], note=fmt.note)
        return fmt
    if key == GGUF:
        raise LoreweaverError(
            "the model file has no chat template; "
            f"pass --template with one of: {', '.join(FAMILIES)}",
            path=info.path,
        )
    family = info.family or detect_family(None, info.architecture, info.name)
    if family in BUILTINS:
        return BUILTINS[family]
    raise LoreweaverError(
        "the model file has no chat template and its prompt family is unknown; "
        f"pass --template with one of: {', '.join(FAMILIES)}",
        path=info.path,
    )


def format_note(info: ModelFacts) -> str:
    """One line on how the file's own template fails, or "" (it works, or there is none)."""
    if not info.usable or not (info.chat_template or "").strip():
        return ""
    try:
        return choose_format(None, info).note
    except LoreweaverError as exc:
        return str(exc)


def role_play_stops(fmt: PromptFormat, user_name: str) -> list[str]:
    """`fmt.stop` plus the user's name opening a line: the model must not write the user's turn."""
    stops = list(fmt.stop)
    name = " ".join(user_name.split())
    if name:
        stops += [f"\n{name}:", f"\n{name} :"]
    return list(dict.fromkeys(stops))


def format_warning(requested: str | None, info: ModelFacts) -> str | None:
    """A warning when the chosen prompt family is not the one the model's own template (or
    name) points at: the model would see turn markers it was not tuned on."""
    key = (requested or "").strip().lower()
    if key not in FAMILIES:
        return None
    own = info.family or detect_family(info.chat_template, info.architecture, info.name)
    if own is None or own == key:
        return None
    return (
        f"prompt format {key!r} does not match {info.name}'s own template ({own!r}); "
        f"replies may be garbled (use --template {own}, or gguf)"
    )
