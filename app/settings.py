"""User settings, saved as YAML in the home. Command-line flags override them per run."""

from __future__ import annotations

import os

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.errors import LoreweaverError
from app.fsutil import write_text_atomic
from app.home import Home
from app.sheets.cards.reader import read_yaml_file
from app.sheets.validation import describe


def physical_cores() -> int:
    """llama.cpp runs best on physical cores; hyper-threads only add contention."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="ignore") as handle:
            cores = {
                line.split(":")[1].strip()
                for line in handle
                if line.startswith("core id")
            }
        if cores:
            return max(1, min(len(cores), os.cpu_count() or 1))
    except OSError:
        pass
    return max(1, os.cpu_count() or 1)


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


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str | None = None
    """A model name or path; empty means the bundled SmolLM2."""
    template: str | None = None
    """A prompt family id, or `gguf`; empty means the file's own template, else detected."""
    n_ctx: int = Field(8192, ge=256, le=1_048_576)
    """Upper bound on the context window: the model's trained context, capped by this."""
    n_threads: int = Field(default_factory=physical_cores, ge=1, le=512)
    user_name: str = "User"
    user_description: str = ""
    theme: str = "textual-dark"
    sampling: SamplingSettings = Field(default_factory=SamplingSettings)


def load_settings(home: Home) -> Settings:
    path = home.settings_file
    if not path.is_file():
        return Settings()
    data = read_yaml_file(path, kind="settings", allow_empty=True)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise LoreweaverError(describe(exc), path=path) from None


def save_settings(home: Home, settings: Settings) -> None:
    home.ensure()
    text = yaml.safe_dump(settings.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
    write_text_atomic(home.settings_file, text)
