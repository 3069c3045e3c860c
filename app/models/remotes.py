"""Remote models the user configured: `remotes.yaml` in the home, one entry per server model.

Only the name of the environment variable holding an API key is stored, never the key.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.errors import LoreweaverError
from app.home import Home
from app.settings import load_yaml_model, save_yaml_model

Api = Literal["llama-server", "openai", "openai-chat"]
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_ENV = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class RemoteModel(BaseModel):
    """One server model, as `loreweaver models add-remote` saved it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    base_url: str
    api: Api = "llama-server"
    api_key_env: str | None = None
    model: str | None = None
    """The model id the server knows (OpenAI `model` field); None: the server's only model."""
    template: str | None = None
    """A prompt family to render with; None: the server's template (llama-server) or detection."""
    n_ctx: int | None = Field(default=None, ge=256)
    """The context window, when the server does not report it."""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.fullmatch(value):
            raise ValueError("use letters, digits, '-' and '_' (at most 64, no leading '-')")
        return value

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.match(r"https?://[^/\s]+", value) or any(c.isspace() for c in value):
            raise ValueError("must be an http:// or https:// URL")
        value = value.rstrip("/")
        return value[: -len("/v1")] if value.endswith("/v1") else value

    @field_validator("api_key_env")
    @classmethod
    def _env(cls, value: str | None) -> str | None:
        if value is not None and not _ENV.fullmatch(value):
            raise ValueError("must be an environment variable name (the key itself is not stored)")
        return value


class Remotes(BaseModel):
    model_config = ConfigDict(extra="forbid")

    remotes: list[RemoteModel] = []


def remotes_file(home: Home) -> Path:
    return home.root / "remotes.yaml"


def load_remotes(home: Home) -> list[RemoteModel]:
    return load_yaml_model(remotes_file(home), Remotes, "remote models").remotes


def find_remote(home: Home, name: str) -> RemoteModel | None:
    return next((r for r in load_remotes(home) if r.name == name), None)


def add_remote(home: Home, remote: RemoteModel) -> None:
    """Save `remote`, replacing none: a name already used (by a remote) is an error."""
    remotes = load_remotes(home)
    if any(r.name == remote.name for r in remotes):
        raise LoreweaverError(
            f"a remote model named {remote.name!r} exists; `models remove {remote.name}` first"
        )
    save_yaml_model(home, remotes_file(home), Remotes(remotes=[*remotes, remote]))


def remove_remote(home: Home, name: str) -> None:
    remotes = load_remotes(home)
    kept = [r for r in remotes if r.name != name]
    if len(kept) == len(remotes):
        known = ", ".join(r.name for r in remotes) or "none"
        raise LoreweaverError(f"no remote model named {name!r} (remote models: {known})")
    save_yaml_model(home, remotes_file(home), Remotes(remotes=kept))
