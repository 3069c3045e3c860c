"""SillyTavern's timestamps: read every form its chat files have used, write the ones it reads.

Its date texts (`2023-6-19 @14h 20m 05s 123ms`, `June 19, 2023 2:20pm`) carry no zone: they are
the author's local time. The exact UTC times beside them (`gen_started`, `gen_finished`) tell how
far the author's clock was from UTC, so `AuthorClock` learns that offset from any line carrying
both and reads the zoneless texts with it; until it knows, it reads them as UTC. The importing
machine's own zone never enters (it is not the author's).
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta

_MONTHS = {
    name.lower(): number
    for names in (calendar.month_name, calendar.month_abbr)
    for number, name in enumerate(names)
    if name
}
_HUMANIZED = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})\s*@(\d{1,2})h\s*(\d{1,2})m\s*(\d{1,2})s(?:\s*(\d{1,3})ms)?"
)
_WORDY = re.compile(r"([A-Za-z]+)\s+(\d{1,2}),\s*(\d{4})\s+(\d{1,2}):(\d{2})\s*([ap]m)", re.I)
OFFSET_STEP = 15 * 60
"""Zone offsets are whole quarter hours; a date text written a few seconds off its exact twin
still gives the right one."""
MAX_OFFSET = 14 * 3600


def _moment(value: object) -> float | datetime | None:
    """Unix seconds for an exact time (epoch number, ISO with a zone), a naive wall-clock
    datetime for a zoneless text, None for anything else; out-of-range values raise."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        number = float(value)
        seconds = number / 1000 if abs(number) > 1e11 else number
        datetime.fromtimestamp(seconds, UTC)  # out of range → an error
        return seconds
    if not isinstance(value, str):
        return None
    text = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return _moment(float(text))
    if match := _HUMANIZED.search(text):
        y, mo, d, h, mi, s, ms = (int(part or 0) for part in match.groups())
        return datetime(y, mo, d, h, mi, s, ms * 1000)
    if match := _WORDY.search(text):
        month = _MONTHS.get(match[1].lower())
        if month is None:
            return None
        hour = int(match[4]) % 12 + (12 if match[6].lower() == "pm" else 0)
        return datetime(int(match[3]), month, int(match[2]), hour, int(match[5]))
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is None else moment.timestamp()


def _safe_moment(value: object) -> float | datetime | None:
    try:
        return _moment(value)
    except (ValueError, OverflowError, OSError):
        return None


def parse_date(value: object, offset: float = 0.0) -> float | None:
    """A SillyTavern timestamp in any of its historic forms → Unix seconds (None if unreadable).

    Forms: epoch milliseconds or seconds, ISO 8601, and the zoneless `2023-6-19 @14h 20m 05s
    123ms` and `June 19, 2023 2:20pm`, read as local time `offset` seconds east of UTC.
    """
    moment = _safe_moment(value)
    if not isinstance(moment, datetime):
        return moment
    try:
        return (moment.replace(tzinfo=UTC) - timedelta(seconds=offset)).timestamp()
    except (ValueError, OverflowError, OSError):
        return None


class AuthorClock:
    """Reads a file's zoneless date texts in its author's zone, as learnt from the file."""

    def __init__(self, offset: float | None = None) -> None:
        self.offset = offset
        """Seconds east of UTC; None until a line has shown it."""

    def learn(self, text: object, *exact: object) -> None:
        """`text` (a date text) and the first readable of `exact` name the same moment."""
        if not isinstance(text, str):
            return
        moment = next(
            (m for m in map(_safe_moment, exact) if m is not None and not isinstance(m, datetime)),
            None,
        )
        if moment is None:
            return
        wall = _safe_moment(text)
        if not isinstance(wall, datetime):
            return
        try:
            seconds = wall.replace(tzinfo=UTC).timestamp()
        except (ValueError, OverflowError, OSError):
            return
        offset = round((seconds - moment) / OFFSET_STEP) * OFFSET_STEP
        if abs(offset) <= MAX_OFFSET:
            self.offset = offset

    def read(self, value: object) -> float | None:
        return parse_date(value, self.offset or 0.0)


def iso_date(timestamp: float) -> str:
    """Unix seconds → `2026-11-23T04:47:00.123Z`, which SillyTavern reads as a message date."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def humanized_date(timestamp: float) -> str:
    """SillyTavern's own header date style: `2026-11-23 @04h 47m 00s 123ms`, in UTC (the
    author's zone of our exports, as their exact times show)."""
    t = datetime.fromtimestamp(timestamp, UTC)
    return (
        f"{t.year}-{t.month}-{t.day} @{t.hour:02d}h {t.minute:02d}m {t.second:02d}s "
        f"{t.microsecond // 1000:03d}ms"
    )
