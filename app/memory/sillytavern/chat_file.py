"""Reading a SillyTavern chat file (see `app.memory.sillytavern.chats` for the format):
untrusted input, checked line by line with size caps, into turns with their swipes,
ready to store."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from app.errors import LoreweaverError
from app.memory.sillytavern.dates import parse_date
from app.memory.store import ROLES, STATUSES, Status
from app.prompts.messages import Role
from app.sheets.cards.jsonfile import MAX_DEPTH, nesting_depth
from app.sheets.validation import describe
from app.untrusted import finite_float, scrub, warn_replaced

MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_MESSAGES = 100_000
MAX_SWIPES = 1_000
OUR_KEY = "loreweaver"
ST_KEY = "sillytavern"
KNOWN_FIELDS = frozenset(
    {"name", "is_user", "is_system", "send_date", "mes", "swipes", "swipe_id", "swipe_info",
     "extra", "gen_started", "gen_finished"}
)  # fmt: skip


class _Header(BaseModel):
    model_config = ConfigDict(extra="ignore")

    user_name: str = "User"
    character_name: str = ""
    create_date: str | float | None = None
    chat_metadata: dict[str, Any] | None = None


class _SwipeInfo(BaseModel):
    model_config = ConfigDict(extra="ignore")

    send_date: str | float | None = None
    extra: dict[str, Any] | None = None


class _Line(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str | None = None
    is_user: bool = False
    is_system: bool = False
    send_date: str | float | None = None
    mes: str
    swipes: list[str] | None = None
    swipe_id: int | None = None
    swipe_info: list[_SwipeInfo | None] | None = None
    extra: dict[str, Any] | None = None


@dataclass
class Variant:
    """One text of a turn (a swipe), with what we keep about it."""

    content: str
    name: str | None
    created_at: float | None
    status: Status = "complete"
    meta: dict[str, Any] = field(default_factory=dict)
    versions: list[str] = field(default_factory=list)
    """Older texts, oldest first."""


@dataclass
class Turn:
    role: Role
    variants: list[Variant]
    active: int


@dataclass
class ChatFile:
    user_name: str
    character_name: str
    created_at: float | None
    chat_metadata: dict[str, Any]
    turns: Iterator[Turn]
    """Read as iterated (see `parse_chat`)."""


def _variant(text: str, name: str | None, date: object, extra: dict[str, Any] | None) -> Variant:
    """One swipe: our block in `extra` restores our data; the rest of `extra` is kept as is."""
    theirs = dict(extra or {})
    ours = theirs.pop(OUR_KEY, None)
    ours = ours if isinstance(ours, dict) else {}
    meta = dict(ours["meta"]) if isinstance(ours.get("meta"), dict) else {}
    if ours:  # drop what our own export derived from the metadata
        if "model" in meta and theirs.get("model") == meta["model"]:
            theirs.pop("model")
        if "completion_tokens" in meta and theirs.get("token_count") == meta["completion_tokens"]:
            theirs.pop("token_count")
        if ours.get("role") == "system" and theirs.get("type") == "narrator":
            theirs.pop("type")
        if "name" in ours and (ours["name"] is None or isinstance(ours["name"], str)):
            name = ours["name"]
    if theirs:
        meta[ST_KEY] = {"extra": theirs}
    status: Status = ours["status"] if ours.get("status") in STATUSES else "complete"
    versions = ours.get("versions")
    return Variant(
        content=text,
        name=name,
        created_at=parse_date(date),
        status="interrupted" if status == "streaming" else status,
        meta=meta,
        versions=[v for v in versions if isinstance(v, str)] if isinstance(versions, list) else [],
    )


def _role(line: _Line) -> Role:
    ours = (line.extra or {}).get(OUR_KEY)
    if isinstance(ours, dict) and ours.get("role") in ROLES:
        return ours["role"]  # type: ignore[no-any-return]
    if line.is_user:
        return "user"
    if (line.extra or {}).get("type") == "narrator":
        return "system"
    return "assistant"


def _turn(line: _Line, where: str, source: Path) -> Turn:
    role = _role(line)
    swipes = line.swipes or []
    if len(swipes) > MAX_SWIPES:
        raise LoreweaverError(
            f"{where}: {len(swipes)} swipes, over the {MAX_SWIPES} limit", path=source
        )
    if not swipes:
        swipes, active = [line.mes], 0
    elif line.swipe_id is None:
        active = swipes.index(line.mes) if line.mes in swipes else 0
    elif 0 <= line.swipe_id < len(swipes):
        active = line.swipe_id
    else:
        raise LoreweaverError(
            f"{where}: swipe_id {line.swipe_id} is out of range ({len(swipes)} swipes)",
            path=source,
        )
    infos = list(line.swipe_info or [])[: len(swipes)]
    infos += [None] * (len(swipes) - len(infos))
    variants = []
    for index, text in enumerate(swipes):
        if index == active:
            variant = _variant(line.mes, line.name, line.send_date, line.extra)
            fields = {k: v for k, v in (line.model_extra or {}).items() if k not in KNOWN_FIELDS}
            if fields:
                variant.meta.setdefault(ST_KEY, {})["fields"] = fields
            if line.is_system:
                variant.meta["hidden"] = True
        else:
            info = infos[index]
            variant = _variant(
                text, line.name, info.send_date if info else None, info.extra if info else None
            )
        variants.append(variant)
    return Turn(role=role, variants=variants, active=active)


def _json_line(raw: str, where: str, source: Path) -> tuple[Any, int]:
    """One line's value, with lone surrogates replaced (and how many were)."""

    def refuse(constant: str) -> None:
        raise ValueError(f"{constant} is not allowed")

    try:
        value = json.loads(raw, parse_constant=refuse, parse_float=finite_float)
    except json.JSONDecodeError as exc:
        raise LoreweaverError(
            f"{where}: not valid JSON ({exc.msg} at column {exc.colno})", path=source
        ) from None
    except (ValueError, RecursionError) as exc:
        problem = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise LoreweaverError(f"{where}: not valid JSON ({problem})", path=source) from None
    if nesting_depth(value) > MAX_DEPTH:
        raise LoreweaverError(f"{where}: nests deeper than {MAX_DEPTH} levels", path=source)
    return scrub(value)


def _lines(handle: Iterable[bytes], source: Path) -> Iterator[tuple[str, dict[str, Any], int]]:
    """The file's non-blank lines as ("line N", JSON object, lone surrogates replaced in it),
    read and checked one at a time."""
    reading = iter(handle)
    line_number = 0
    while True:
        try:
            raw = next(reading, None)
        except OSError as exc:
            raise LoreweaverError(f"cannot read: {exc.strerror or exc}", path=source) from None
        if raw is None:
            return
        line_number += 1
        where = f"line {line_number}"
        try:
            line = raw.decode("utf-8-sig" if line_number == 1 else "utf-8")
        except UnicodeDecodeError:
            raise LoreweaverError(f"{where}: not valid UTF-8", path=source) from None
        if not line.strip():
            continue
        value, replaced = _json_line(line, where, source)
        if not isinstance(value, dict):
            raise LoreweaverError(f"{where}: must be a JSON object", path=source)
        yield where, value, replaced


def _turns(
    lines: Iterator[tuple[str, dict[str, Any], int]], source: Path, replaced: int
) -> Iterator[Turn]:
    """The message lines as turns; once all are read, one warning if any text was replaced."""
    for count, (where, value, scrubbed) in enumerate(lines, start=1):
        replaced += scrubbed
        try:
            line = _Line.model_validate(value)
        except ValidationError as exc:
            raise LoreweaverError(f"{where}: {describe(exc)}", path=source) from None
        if count > MAX_MESSAGES:
            raise LoreweaverError(f"more than {MAX_MESSAGES} messages", path=source)
        yield _turn(line, where, source)
    warn_replaced(replaced, source)


def parse_chat(handle: Iterable[bytes], source: Path) -> ChatFile:
    """Check and parse a chat file's header; its `turns` are read, checked and parsed one line
    at a time as they are iterated (a big file is never held whole, nor twice). Every problem,
    raised here or while iterating, is one line naming the file and line."""
    lines = _lines(handle, source)
    first = next(lines, None)
    if first is None:
        raise LoreweaverError("empty file: no chat header line", path=source)
    where, value, replaced = first
    if "mes" in value:
        raise LoreweaverError(
            f"{where}: expected the chat header (user_name, character_name), found a message",
            path=source,
        )
    try:
        header = _Header.model_validate(value)
    except ValidationError as exc:
        raise LoreweaverError(f"{where}: {describe(exc)}", path=source) from None
    return ChatFile(
        user_name=header.user_name or "User",
        character_name=header.character_name,
        created_at=parse_date(header.create_date),
        chat_metadata=header.chat_metadata or {},
        turns=_turns(lines, source, replaced),
    )


@contextmanager
def open_chat_file(path: Path) -> Iterator[ChatFile]:
    """The chat file's header, with its turns streamed from the open file while in the block."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise LoreweaverError(
                f"file is {size} bytes, over the {MAX_FILE_BYTES} limit", path=path
            )
        handle = path.open("rb")
    except OSError as exc:
        raise LoreweaverError(f"cannot read: {exc.strerror}", path=path) from None
    with handle:
        yield parse_chat(handle, path)
