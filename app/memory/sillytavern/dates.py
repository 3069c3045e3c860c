"""SillyTavern's timestamps: read every form its chat files have used, write the ones it reads."""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime

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


def parse_date(value: object) -> float | None:
    """A SillyTavern timestamp in any of its historic forms → Unix seconds (None if unreadable).

    Forms: epoch milliseconds, ISO 8601, `2023-6-19 @14h 20m 05s 123ms` and
    `June 19, 2023 2:20pm` (the last two in local time).
    """
    try:
        if isinstance(value, bool) or value is None:
            return None
        if isinstance(value, int | float):
            number = float(value)
            seconds = number / 1000 if abs(number) > 1e11 else number
            datetime.fromtimestamp(seconds, UTC)  # out of range → an error, caught below
            return seconds
        if not isinstance(value, str):
            return None
        text = value.strip()
        if re.fullmatch(r"\d+(\.\d+)?", text):
            return parse_date(float(text))
        if match := _HUMANIZED.search(text):
            y, mo, d, h, mi, s, ms = (int(part or 0) for part in match.groups())
            return datetime(y, mo, d, h, mi, s, ms * 1000).timestamp()
        if match := _WORDY.search(text):
            month = _MONTHS.get(match[1].lower())
            if month is None:
                return None
            hour = int(match[4]) % 12 + (12 if match[6].lower() == "pm" else 0)
            return datetime(int(match[3]), month, int(match[2]), hour, int(match[5])).timestamp()
        return datetime.fromisoformat(text).timestamp()
    except (ValueError, OverflowError, OSError):
        return None


def iso_date(timestamp: float) -> str:
    """Unix seconds → `2026-11-23T04:47:00.123Z`, which SillyTavern reads as a message date."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def humanized_date(timestamp: float) -> str:
    """SillyTavern's own header date style: `2026-11-23 @04h 47m 00s 123ms` (local time)."""
    t = datetime.fromtimestamp(timestamp)
    return (
        f"{t.year}-{t.month}-{t.day} @{t.hour:02d}h {t.minute:02d}m {t.second:02d}s "
        f"{t.microsecond // 1000:03d}ms"
    )
