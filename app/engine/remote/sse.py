"""Server-sent events: the payload of each event in a byte-line stream, and whether it is an
error.

Per the SSE spec an event ends at a blank line, and several `data:` lines join with newlines;
comments (`:` lines, used as keep-alive pings) and other fields (`id:`, `retry:`) are skipped.
An event is an error when its type is `error` (`event: error`) or, as llama-server writes an
error once its stream has begun (HTTP 200 already sent), its payload is in an `error:` field.
A stream cut off mid-event yields nothing for that event: half an event is not an event.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator


def sse_data(lines: Iterable[bytes]) -> Iterator[tuple[str, bool]]:
    """(payload, is an error) per event."""
    data: list[str] = []
    error = False
    for raw in lines:
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if not line:
            if data:
                yield "\n".join(data), error
            data, error = [], False
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field in ("data", "error"):
            data.append(value)
            error = error or field == "error"
        elif field == "event":
            error = error or value == "error"
