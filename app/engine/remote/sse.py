"""Server-sent events: the `data:` payload of each event in a byte-line stream.

Per the SSE spec an event ends at a blank line, and several `data:` lines join with newlines;
comments (`:` lines, used as keep-alive pings) and other fields (`event:`, `id:`) are skipped.
A stream cut off mid-event yields nothing for that event: half an event is not an event.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator


def sse_data(lines: Iterable[bytes]) -> Iterator[str]:
    data: list[str] = []
    for raw in lines:
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if not line:
            if data:
                yield "\n".join(data)
                data = []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        if field == "data":
            data.append(value[1:] if value.startswith(" ") else value)
