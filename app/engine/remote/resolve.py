"""A remote model as a `ModelInfo`: what its server says, asked when the model is chosen."""

from __future__ import annotations

from pathlib import Path

from app.engine.remote.engine import dialect, server_of
from app.errors import LoreweaverError
from app.home import Home
from app.models import ModelInfo, RemoteModel, find_remote, load_remotes, remotes_file
from app.prompts.detect import detect_family


def remote_info(remote: RemoteModel) -> ModelInfo:
    """What the server says about `remote`'s model (template, context), as a `ModelInfo`
    whose `path` is the remote's name. Raises `RemoteError` when the server cannot answer."""
    about = dialect(remote).describe(server_of(remote))
    label = about.model or remote.model or remote.name
    template = None if remote.template else about.chat_template
    family = remote.template or detect_family(template, None, label)
    return ModelInfo(
        path=Path(remote.name),
        name=label,
        source="remote",
        file_size=0,
        context_length=remote.n_ctx or about.n_ctx,
        chat_template=template,
        family=family,
        bos_token=about.bos_token,
        eos_token=about.eos_token,
        remote=remote,
    )


def resolve_remote(home: Home, ref: str) -> ModelInfo | None:
    """The remote model named `ref`, asked about now; None when no remote has that name."""
    remote = find_remote(home, ref)
    return None if remote is None else remote_info(remote)


def listed_remotes(home: Home) -> list[ModelInfo]:
    """The remote models as a model picker lists them, without asking any server (a picker
    must open at once); a damaged remotes file is one unusable entry saying why."""
    try:
        remotes = load_remotes(home)
    except LoreweaverError as exc:
        path = remotes_file(home)
        return [ModelInfo(path, path.name, "remote", 0, problem=str(exc))]
    return [
        ModelInfo(
            path=Path(remote.name),
            name=remote.model or remote.name,
            source="remote",
            file_size=0,
            context_length=remote.n_ctx,
            family=remote.template,
            remote=remote,
        )
        for remote in remotes
    ]
