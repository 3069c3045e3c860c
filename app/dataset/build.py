"""`dataset build`: characters' chats → training file, validation file and manifest.

Examples are deduplicated by content (a branch copied from a chat and never continued is a
prefix of that chat: it teaches nothing the longer one does not), then split by their content
hash, so the same chats always give the same split whatever order they are read in. The three
files are written together (`fsutil.Staging`): a failure leaves none of them half-written.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.dataset.examples import ChatExample, Skipped, chat_example
from app.dataset.shapes import Format, record
from app.errors import LoreweaverError
from app.fsutil import Staging
from app.home import Home
from app.memory.store import ChatStore
from app.settings import Settings, engine_threads
from app.text import safe_json


@dataclass(frozen=True)
class DatasetRequest:
    characters: Sequence[str]
    output: Path
    form: Format = "chatml-messages"
    only_edited: bool = False
    split: float = 0.1
    model: str | None = None
    template: str | None = None


@dataclass(frozen=True)
class DatasetResult:
    train: int
    validation: int
    skipped: int
    duplicates: int
    files: dict[str, Path]


def output_paths(output: Path) -> dict[str, Path]:
    """The training file, the validation file and the manifest beside it."""
    stem, suffix = output.stem, output.suffix
    return {
        "train": output,
        "validation": output.with_name(f"{stem}.val{suffix}"),
        "manifest": output.with_name(f"{stem}.manifest.json"),
    }


def build_dataset(home: Home, settings: Settings, request: DatasetRequest) -> DatasetResult:
    from app.engine.llamacpp import load_engine
    from app.session_start import resolve_setup

    if not 0.0 <= request.split < 1.0:
        raise LoreweaverError(f"--split must be at least 0 and below 1, got {request.split}")
    paths = output_paths(request.output)
    for path in paths.values():
        if path.is_dir():
            raise LoreweaverError("is a folder, not a file", path=path)
    setups = [
        resolve_setup(home, settings, character=c, model=request.model, template=request.template)
        for c in dict.fromkeys(request.characters)
    ]
    with Staging(request.output.parent) as staging, ChatStore.open(home.ensure()) as store:
        chats = {setup[0]: store.list_chats(setup[0]) for setup in setups}
        for character_id, found in chats.items():
            if not found:
                raise LoreweaverError(f"no saved chats with {character_id!r}")
        info, fmt = setups[0][2], setups[0][3]
        examples: list[ChatExample] = []
        skipped: list[dict[str, Any]] = []
        threads = engine_threads(settings)
        with load_engine(info, **threads, n_ctx_cap=settings.n_ctx) as engine:
            for character_id, sheet, _, _ in setups:
                for summary in sorted(chats[character_id], key=lambda c: c.id):
                    chat = store.get_chat(summary.id)
                    try:
                        example = chat_example(
                            store, engine, info, fmt, sheet, character_id, settings, home, chat,
                            only_edited=request.only_edited,
                        )  # fmt: skip
                    except Skipped as why:
                        skipped.append({"chat_id": chat.id, "reason": str(why)})
                        continue
                    examples.append(example)
        kept, duplicates = dedupe(examples)
        if not kept:
            reasons = sorted({s["reason"] for s in skipped})
            raise LoreweaverError(f"no training examples in these chats ({'; '.join(reasons)})")
        validation = split_keys([e.key for e in kept], request.split)
        train_lines = [e for e in kept if e.key not in validation]
        val_lines = [e for e in kept if e.key in validation]
        files = {"train": train_lines, "validation": val_lines}
        for name, chosen in files.items():
            if chosen or name == "train":
                staging.place(paths[name]).write_bytes(_jsonl(chosen, request.form, fmt))
        manifest = _manifest(request, info.id, fmt.id, kept, duplicates, skipped, validation)
        manifest["files"] = {k: paths[k].name for k, v in files.items() if v or k == "train"}
        staging.place(paths["manifest"]).write_bytes(_json_bytes(manifest, indent=2) + b"\n")
        staging.commit()
    if not val_lines:  # no split this time: an older run's validation file would mislead
        paths["validation"].unlink(missing_ok=True)
    return DatasetResult(
        train=len(train_lines),
        validation=len(val_lines),
        skipped=len(skipped),
        duplicates=len(duplicates),
        files={k: paths[k] for k in (*manifest["files"], "manifest")},
    )


def dedupe(examples: list[ChatExample]) -> tuple[list[ChatExample], list[dict[str, Any]]]:
    """Drop examples equal to, or a prefix (at a reply) of, another; say which covers each."""
    covering: dict[str, int] = {}
    for example in examples:
        digest = hashlib.sha256(_json_bytes(["system", example.system]))
        example.prefix_keys = []
        for turn in example.turns:
            digest.update(_json_bytes([turn.role, turn.content]))
            if turn.role == "assistant":
                example.prefix_keys.append(digest.hexdigest())
        example.key = example.prefix_keys[-1]
    for example in sorted(examples, key=lambda e: -len(e.turns)):
        for key in example.prefix_keys:
            covering.setdefault(key, example.chat_id)
    kept: list[ChatExample] = []
    seen: set[str] = set()
    duplicates: list[dict[str, Any]] = []
    for example in examples:
        owner = covering[example.key]
        if example.key in seen or owner != example.chat_id:
            duplicates.append({"chat_id": example.chat_id, "same_as_chat": owner})
            continue
        seen.add(example.key)
        kept.append(example)
    return kept, duplicates


def split_keys(keys: list[str], fraction: float) -> set[str]:
    """The validation share: the examples whose hashes sort first (at least one of two or
    more when asked for any, never all)."""
    if fraction <= 0 or len(keys) < 2:
        return set()
    count = min(max(1, round(len(keys) * fraction)), len(keys) - 1)
    return set(sorted(keys)[:count])


def _json_bytes(value: Any, indent: int | None = None) -> bytes:
    """UTF-8 JSON on one line (without `indent`) for every reader: characters some split lines
    on (U+2028/9, NEL) or act on (controls) are `\\uXXXX` escapes, and so is a lone surrogate
    (never valid UTF-8); the data read back is the same."""
    text = safe_json(json.dumps(value, ensure_ascii=False, indent=indent))
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return text.encode("utf-8", "backslashreplace")


def _jsonl(examples: list[ChatExample], form: Format, fmt: Any) -> bytes:
    return b"".join(_json_bytes(record(e, form, fmt)) + b"\n" for e in examples)


def _manifest(
    request: DatasetRequest,
    model: str,
    template: str,
    kept: list[ChatExample],
    duplicates: list[dict[str, Any]],
    skipped: list[dict[str, Any]],
    validation: set[str],
) -> dict[str, Any]:
    def entry(example: ChatExample) -> dict[str, Any]:
        return {
            "key": example.key[:16],
            "split": "validation" if example.key in validation else "train",
            "character": example.character_id,
            "chat_id": example.chat_id,
            "title": example.title,
            "user": example.user,
            "tokens": example.tokens,
            "cut": example.cut,
            "messages": [
                {
                    "id": t.message_id,
                    "role": t.role,
                    "version": t.versions,
                    "edited": t.edited,
                    "swipe": f"{t.swipe}/{t.swipes}",
                    "tokens": t.tokens,
                }
                for t in example.turns
            ],
        }

    entries = [entry(e) for e in kept]
    return {
        "format": request.form,
        "model": model,
        "template": template,
        "characters": list(dict.fromkeys(e.character_id for e in kept)),
        "only_edited": request.only_edited,
        "split": request.split,
        "totals": {
            side: {
                "examples": sum(1 for e in entries if e["split"] == side),
                "tokens": sum(e["tokens"] for e in entries if e["split"] == side),
            }
            for side in ("train", "validation")
        },
        "examples": entries,
        "duplicates": duplicates,
        "skipped": skipped,
    }
