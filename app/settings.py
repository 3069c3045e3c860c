"""User settings, saved as YAML in the home. Command-line flags override them per run."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from app.engine.threads import THREAD_ADAPT
from app.errors import LoreweaverError
from app.fsutil import write_text_atomic
from app.home import Home
from app.memory.lore import WorldInfoSettings
from app.sheets.cards.reader import read_yaml_file
from app.sheets.sheet import MAX_ADAPTERS, AdapterRef
from app.sheets.validation import describe

M = TypeVar("M", bound=BaseModel)


def physical_cores() -> int:
    """Threads for llama.cpp: physical cores (hyper-threads only add contention), and no more
    than the CPUs this process may run on (`taskset`, a container's cpuset): a thread with no
    core of its own stalls every step's barrier."""
    allowed = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    allowed = allowed or os.cpu_count() or 1
    cores: set[tuple[str, str]] = set()
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="ignore") as handle:
            socket = ""
            for line in handle:
                key, _, value = line.partition(":")
                if key.strip() == "physical id":
                    socket = value.strip()
                elif key.strip() == "core id":
                    cores.add((socket, value.strip()))
    except OSError:
        pass
    return max(1, min(len(cores) or allowed, allowed))


def engine_threads(settings: Settings) -> dict[str, Any]:
    """`load_engine`'s thread arguments from the settings."""
    return {
        "n_threads": settings.n_threads,
        "n_threads_batch": settings.n_threads_batch,
        "thread_wait": settings.thread_wait,
        "thread_adapt": settings.thread_adapt,
    }


class SamplingSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    temperature: float = Field(0.8, ge=0.0, le=5.0)
    top_p: float = Field(0.95, ge=0.0, le=1.0)
    top_k: int = Field(40, ge=0)
    min_p: float = Field(0.05, ge=0.0, le=1.0)
    repeat_penalty: float = Field(1.1, ge=0.0, le=5.0)
    seed: int | None = None
    max_tokens: int = Field(300, ge=1, le=32768)


SAMPLING_PRESETS: dict[str, SamplingSettings] = {
    "balanced": SamplingSettings(),
    "precise": SamplingSettings(temperature=0.3, top_p=0.9, top_k=20, min_p=0.1),
    "creative": SamplingSettings(temperature=1.1, top_p=0.98, top_k=0, min_p=0.03),
    "greedy": SamplingSettings(temperature=0.0, top_k=1, seed=0),
}
"""Starting points for the sampler, by name; any field can then be changed by hand."""


StopString = Annotated[str, Field(min_length=1, max_length=200)]
ModelId = Annotated[str, Field(min_length=1, max_length=200)]
ModelAdapters = Annotated[list[AdapterRef], Field(max_length=MAX_ADAPTERS)]
ThreadWait = Literal["sleep", "spin", "library"]
MAX_STOPS = 50


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str | None = None
    """A model name or path; empty means the bundled SmolLM2."""
    template: str | None = None
    """A prompt family id, or `gguf`; empty means the file's own template, else detected."""
    n_ctx: int = Field(8192, ge=256, le=1_048_576)
    """Upper bound on the context window: the model's trained context, capped by this."""
    n_threads: int = Field(default_factory=physical_cores, ge=1, le=512)
    """Threads per generated token (with `thread_adapt`, the most it uses)."""
    n_threads_batch: int | None = Field(None, ge=1, le=512)
    """Threads reading a prompt; empty means as many as `n_threads`."""
    thread_wait: ThreadWait = "library"
    """How llama.cpp's threads wait for each other at every step: `library` keeps OpenMP's own
    (spinning) wait, the fastest on a quiet machine; `sleep` gives the CPU back, which keeps a
    program taking a core from slowing replies 5–10×, but costs ~5× idle decode on a tiny model
    (see `bench --busy` and the README). OMP_WAIT_POLICY in the environment wins."""
    thread_adapt: bool = THREAD_ADAPT
    """Decode with fewer threads while other programs hold cores: as many as they leave free
    (Linux's CPU counters), fewer while steps are much slower than the best seen, each change
    judged by the step times (`app.engine.thread_tuner`); prompts are read with as many fewer.
    Off: always `n_threads` and `n_threads_batch`."""
    user_name: str = "User"
    user_description: str = ""
    theme: str = "textual-dark"
    last_chat: int | None = None
    """The chat open when the terminal app last closed: it opens there again."""
    sampling: SamplingSettings = Field(default_factory=SamplingSettings)
    stop: list[StopString] = Field(default_factory=list, max_length=MAX_STOPS)
    """Extra stop strings for every chat (a chat can add its own)."""
    presets: dict[str, SamplingSettings] = Field(default_factory=dict, max_length=200)
    """The user's own sampler presets, by name (beside `SAMPLING_PRESETS`)."""
    world_info: WorldInfoSettings = Field(default_factory=WorldInfoSettings)
    """What lorebooks that do not say get: budget (% of the window), budget_cap, recursive,
    match_whole_words, case_sensitive (SillyTavern's shipped settings by default)."""
    model_adapters: dict[ModelId, ModelAdapters] = Field(default_factory=dict, max_length=200)
    """LoRA adapters applied whenever a model is loaded, under every character, by the id
    typed for `--model` (the file stem); a sheet's own adapters come after them
    (`app.speaker_adapters`). Set with `loreweaver models adapters`."""

    @field_validator("presets")
    @classmethod
    def _own_names(cls, presets: dict[str, SamplingSettings]) -> dict[str, SamplingSettings]:
        for name in presets:
            check_preset_name(name)
        return presets

    def all_presets(self) -> dict[str, SamplingSettings]:
        """The built-in presets, then the user's own."""
        return {**SAMPLING_PRESETS, **self.presets}


def check_preset_name(name: str) -> str:
    """A name the user may save a preset under: one line of text, not a built-in's."""
    if not name.strip() or name != " ".join(name.split()) or len(name) > 60:
        raise ValueError(
            f"preset name {name!r} must be 1-60 characters on one line, "
            "without leading, trailing or doubled spaces"
        )
    if name in SAMPLING_PRESETS:
        raise ValueError(f"{name!r} is a built-in preset: choose another name")
    return name


def save_preset(settings: Settings, name: str, sampling: SamplingSettings) -> Settings:
    """A copy of `settings` with `sampling` kept as the preset `name` (replacing one)."""
    try:
        check_preset_name(" ".join(name.split()))
    except ValueError as exc:
        raise LoreweaverError(str(exc)) from None
    return settings.model_copy(
        update={"presets": {**settings.presets, " ".join(name.split()): sampling}}
    )


def remove_preset(settings: Settings, name: str) -> Settings:
    if name in SAMPLING_PRESETS:
        raise LoreweaverError(f"{name!r} is a built-in preset and cannot be removed")
    if name not in settings.presets:
        known = ", ".join(settings.presets) or "none saved"
        raise LoreweaverError(f"no preset named {name!r} (your presets: {known})")
    return settings.model_copy(
        update={"presets": {k: v for k, v in settings.presets.items() if k != name}}
    )


def load_yaml_model(path: Path, model: type[M], kind: str) -> M:
    """One of the home's YAML files as `model` (the model's defaults when there is no file),
    read under the same guards as a sheet; a problem is one line naming the file."""
    if not path.is_file():
        return model()
    data = read_yaml_file(path, kind=kind, allow_empty=True)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise LoreweaverError(describe(exc), path=path) from None


def save_yaml_model(home: Home, path: Path, value: BaseModel) -> None:
    """Write `value` to one of the home's YAML files, atomically."""
    home.ensure()
    text = yaml.safe_dump(value.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
    write_text_atomic(path, text)


def load_settings(home: Home) -> Settings:
    return load_yaml_model(home.settings_file, Settings, "settings")


def save_settings(home: Home, settings: Settings) -> None:
    save_yaml_model(home, home.settings_file, settings)


def remember_chat(where: Home, chat_id: int) -> None:
    """Record the open chat in the settings file, changing nothing else in it (read again
    first: it may have been edited since start)."""
    settings = load_settings(where)
    if settings.last_chat != chat_id:
        save_settings(where, settings.model_copy(update={"last_chat": chat_id}))
