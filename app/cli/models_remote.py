"""`loreweaver models add-remote | remove`, and the remote rows of `loreweaver models`.

A listing asks each server, briefly, what it serves; an unreachable one is listed with why.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from app.errors import LoreweaverError

if TYPE_CHECKING:
    from app.home import Home
    from app.models import RemoteModel

LIST_TIMEOUT_S = 3.0
"""How long a listing waits for each server."""


def configure(sub: argparse._SubParsersAction) -> None:
    add = sub.add_parser(
        "add-remote",
        help="use a model on an inference server (llama-server, vLLM, Ollama, OpenAI-compatible)",
        description="Save a remote model under NAME; `--model NAME` then uses it like a file.",
    )
    add.add_argument("name", metavar="NAME", help="the name to use it by (letters, digits, - _)")
    add.add_argument("--base-url", required=True, metavar="URL", help="e.g. http://gpu-box:8080")
    add.add_argument(
        "--api",
        choices=("llama-server", "openai", "openai-chat"),
        default="llama-server",
        help="llama.cpp's native API (default), the OpenAI-compatible /v1/completions, or "
        "/v1/chat/completions for a server without it (its template then decides the format)",
    )
    add.add_argument(
        "--api-key-env",
        metavar="VAR",
        help="environment variable holding the API key (the key itself is never saved)",
    )
    add.add_argument(
        "--model", dest="model_id", metavar="MODEL_ID", help="the server's model id (openai API)"
    )
    add.add_argument(
        "--template", metavar="FAMILY", help="prompt format (default: the server's, or detected)"
    )
    add.add_argument(
        "--n-ctx", type=int, metavar="N", help="context window, when the server does not say"
    )
    remove = sub.add_parser("remove", help="forget a remote model", description="Forget NAME.")
    remove.add_argument("name", metavar="NAME")


def run(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from app.engine.remote.engine import dialect
    from app.home import home
    from app.models import RemoteModel, add_remote, remove_remote
    from app.prompts.formats import FAMILIES
    from app.sheets.validation import describe
    from app.text import safe_line

    where = home()
    if args.action == "remove":
        remove_remote(where, args.name)
        print(f"removed remote model {args.name}")
        return 0
    if args.template is not None and args.template.lower() not in FAMILIES:
        raise LoreweaverError(
            f"--template: unknown prompt format {args.template!r}; valid: {', '.join(FAMILIES)}"
        )
    try:
        remote = RemoteModel(
            name=args.name,
            base_url=args.base_url,
            api=args.api,
            api_key_env=args.api_key_env,
            model=args.model_id,
            template=args.template.lower() if args.template else None,
            n_ctx=args.n_ctx,
        )
    except ValidationError as exc:
        raise LoreweaverError(f"add-remote: {describe(exc)}") from None
    add_remote(where, remote)
    status = probe(remote)
    said = f"added remote model {remote.name} ({remote.api} at {remote.base_url}): {status.line()}"
    print(safe_line(said))  # the status holds what the server said: it may hold anything
    for note in dialect(remote).notes:
        sys.stderr.write(f"warning: {note}\n")
    return 0


@dataclass(frozen=True)
class Status:
    reachable: bool
    model: str | None = None
    n_ctx: int | None = None
    family: str | None = None
    slots: int | None = None
    problem: str | None = None
    ignored: tuple[str, ...] = ()

    def line(self) -> str:
        if not self.reachable:
            return f"unreachable: {self.problem}"
        parts = [f"model {self.model or '?'}", f"context {self.n_ctx or '?'}"]
        parts.append(f"format {self.family or 'unknown (add --template)'}")
        if self.slots:
            parts.append(f"{self.slots} slot{'' if self.slots == 1 else 's'}")
        if self.ignored:
            parts.append(f"{', '.join(self.ignored)} sent as extensions a server may ignore")
        return "reachable, " + ", ".join(parts)


def probe(remote: RemoteModel) -> Status:
    """Ask the server briefly what it serves; never raises for a server problem."""
    from app.engine.remote.engine import dialect, server_of
    from app.prompts.detect import detect_family

    server = replace(server_of(remote), connect_timeout=LIST_TIMEOUT_S, read_timeout=LIST_TIMEOUT_S)
    api = dialect(remote)
    try:
        about = api.describe(server)
    except LoreweaverError as exc:
        return Status(False, problem=str(exc))
    label = about.model or remote.model or remote.name
    family = remote.template or detect_family(about.chat_template, None, label)
    return Status(True, label, remote.n_ctx or about.n_ctx, family, about.slots, None, api.ignored)


def rows(where: Home) -> list[tuple[RemoteModel, Status]]:
    from app.models import load_remotes

    return [(remote, probe(remote)) for remote in load_remotes(where)]


def json_row(remote: RemoteModel, status: Status) -> dict[str, Any]:
    return {
        "id": remote.name,
        "source": "remote",
        "api": remote.api,
        "base_url": remote.base_url,
        "api_key_env": remote.api_key_env,
        "model": status.model or remote.model,
        "context_length": status.n_ctx,
        "family": status.family,
        "slots": status.slots,
        "reachable": status.reachable,
        "problem": status.problem,
        "ignored_samplers": list(status.ignored),
    }
