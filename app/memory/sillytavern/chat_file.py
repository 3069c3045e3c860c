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
from app.memory.sillytavern.dates import AuthorClock, iso_date
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
DATE_FIELDS = ("send_date", "gen_started", "gen_finished")
PLACEHOLDER_NAMES = frozenset({"", "unused"})
"""What SillyTavern writes in a chat header's name fields when the names live elsewhere."""
SCAN_LINES = 1_000
"""How far `scan_file` looks for the names and the author's clock before the real read."""


class _Header(BaseModel):
    model_config = ConfigDict(extra="ignore")

    user_name: str | None = None
    character_name: str | None = None
    create_date: str | float | None = None
    chat_metadata: dict[str, Any] | None = None


class _SwipeInfo(BaseModel):
    model_config = ConfigDict(extra="allow")

    send_date: Any = None
    gen_started: Any = None
    gen_finished: Any = None
    """Dates may be any value: kept and written back; only a readable one is read."""
    extra: dict[str, Any] | None = None

    def dates(self) -> dict[str, Any]:
        """Every field but `extra`, as the file had it."""
        return {k: v for k, v in self.model_dump(exclude_unset=True).items() if k != "extra"}


class _Line(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str | None = None
    is_user: bool = False
    is_system: bool = False
    send_date: Any = None
    mes: str
    swipes: list[str] | None = None
    swipe_id: int | None = None
    swipe_info: list[_SwipeInfo | None] | None = None
    extra: dict[str, Any] | None = None
    gen_started: Any = None
    gen_finished: Any = None


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
    user_name: str | None
    character_name: str | None
    """The header's names; None where it has none (or SillyTavern's placeholder `unused`)."""
    created_at: float | None
    chat_metadata: dict[str, Any]
    create_date: str | float | None
    """As the header wrote it (kept for export)."""
    turns: Iterator[Turn]
    """Read as iterated (see `parse_chat`)."""


def generated_dates(created_at: float, meta: dict[str, Any], *, generated: bool) -> dict[str, str]:
    """The date fields our export writes for a message made at `created_at`: `send_date`, and for
    a generated one when generation started (the row is made before the first token) and, if
    known, when it ended. A file's dates that equal these need not be kept."""
    dates = {"send_date": iso_date(created_at)}
    if generated:
        dates["gen_started"] = iso_date(created_at)
        total = meta.get("total_s")
        if isinstance(total, int | float) and not isinstance(total, bool) and 0 <= total < 1e6:
            dates["gen_finished"] = iso_date(created_at + total)
    return dates


def _variant(
    text: str,
    name: str | None,
    dates: dict[str, Any],
    extra: dict[str, Any] | None,
    clock: AuthorClock,
) -> Variant:
    """One swipe: our block in `extra` restores our data; the rest of `extra` is kept as is.

    Its time is the exact `gen_started` when the file has it, else `send_date` in the author's
    zone (`AuthorClock`)."""
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
    clock.learn(dates.get("send_date"), dates.get("gen_finished"), dates.get("gen_started"))
    created_at = clock.read(dates.get("gen_started"))
    return Variant(
        content=text,
        name=name,
        created_at=created_at if created_at is not None else clock.read(dates.get("send_date")),
        status="interrupted" if status == "streaming" else status,
        meta=meta,
        versions=[v for v in versions if isinstance(v, str)] if isinstance(versions, list) else [],
    )


def _keep_dates(variant: Variant, key: str, dates: dict[str, Any], *, generated: bool) -> None:
    """Keep the file's date fields under `key` unless our export would write them as they are."""
    ours = isinstance(sent := dates.get("send_date"), str) and sent.endswith("Z")
    if (
        ours
        and variant.created_at is not None
        and dates == generated_dates(variant.created_at, variant.meta, generated=generated)
    ):
        return
    variant.meta.setdefault(ST_KEY, {})[key] = dates  # even none: none are written back


def _role(line: _Line) -> Role:
    ours = (line.extra or {}).get(OUR_KEY)
    if isinstance(ours, dict) and ours.get("role") in ROLES:
        return ours["role"]
    if line.is_user:
        return "user"
    if (line.extra or {}).get("type") == "narrator":
        return "system"
    return "assistant"


def _turn(line: _Line, where: str, source: Path, clock: AuthorClock) -> Turn:
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
    generated = role == "assistant"
    variants = []
    for index, text in enumerate(swipes):
        info = infos[index]
        if index == active:
            dates = {k: getattr(line, k) for k in DATE_FIELDS if k in line.model_fields_set}
            variant = _variant(line.mes, line.name, dates, line.extra, clock)
            _keep_dates(variant, "dates", dates, generated=generated)
            fields = {k: v for k, v in (line.model_extra or {}).items() if k not in KNOWN_FIELDS}
            if fields:
                variant.meta.setdefault(ST_KEY, {})["fields"] = fields
            if line.is_system:
                variant.meta["hidden"] = True
            if text != line.mes:  # the shown text was edited away from its swipe: keep both
                variant.meta.setdefault(ST_KEY, {})["swipe"] = text
                if variant.versions[-1:] != [text]:
                    variant.versions.append(text)
        else:
            dates = info.dates() if info else {}
            variant = _variant(text, line.name, dates, info.extra if info else None, clock)
        if info is not None:
            _keep_dates(variant, "swipe_info", info.dates(), generated=True)
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
    lines: Iterator[tuple[str, dict[str, Any], int]],
    source: Path,
    replaced: int,
    clock: AuthorClock,
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
        yield _turn(line, where, source, clock)
    warn_replaced(replaced, source)


def _name(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() not in PLACEHOLDER_NAMES else None


def parse_chat(handle: Iterable[bytes], source: Path, *, offset: float | None = None) -> ChatFile:
    """Check and parse a chat file's header; its `turns` are read, checked and parsed one line
    at a time as they are iterated (a big file is never held whole). Every problem, raised here
    or while iterating, is one line naming the file and line. `offset`: the author's zone, in
    seconds east of UTC, if known before the first zoneless date (see `scan_file`)."""
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
    clock = AuthorClock(offset)
    return ChatFile(
        user_name=_name(header.user_name),
        character_name=_name(header.character_name),
        created_at=clock.read(header.create_date),
        chat_metadata=header.chat_metadata or {},
        create_date=header.create_date,
        turns=_turns(lines, source, replaced, clock),
    )


@dataclass
class Hints:
    """What the first lines of a file say about it, wanted before its chat is made."""

    user_name: str | None = None
    character_name: str | None = None
    """The first named user line's and character line's names (narrators are not characters)."""
    offset: float | None = None
    """The author's zone (see `AuthorClock`)."""


def _scan(lines: Iterator[tuple[str, dict[str, Any], int]]) -> Hints:
    hints, clock = Hints(), AuthorClock()
    for count, (_, value, _) in enumerate(lines):
        if count == 0 and "mes" not in value:
            continue  # the header
        extra = value.get("extra")
        narrator = isinstance(extra, dict) and extra.get("type") == "narrator"
        name = _name(value.get("name"))
        if value.get("is_user") is True:
            hints.user_name = hints.user_name or name
        elif not narrator:
            hints.character_name = hints.character_name or name
        infos = value.get("swipe_info")
        for dated in [value, *(infos if isinstance(infos, list) else [])]:
            if isinstance(dated, dict):
                clock.learn(
                    dated.get("send_date"), dated.get("gen_finished"), dated.get("gen_started")
                )
        known = hints.user_name and hints.character_name and clock.offset is not None
        if known or count >= SCAN_LINES:
            break
    hints.offset = clock.offset
    return hints


def scan_file(path: Path) -> Hints:
    """The names and the author's zone from the file's first `SCAN_LINES` lines; a line that
    cannot be read ends the scan (the full read reports it)."""
    try:
        with path.open("rb") as handle:
            return _scan(_lines(handle, path))
    except (OSError, LoreweaverError):
        return Hints()


@contextmanager
def open_chat_file(path: Path, *, offset: float | None = None) -> Iterator[ChatFile]:
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
        yield parse_chat(handle, path, offset=offset)
