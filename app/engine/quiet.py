"""Keeping llama.cpp and llama-cpp-python quiet without touching the terminal.

llama-cpp-python's own way (`verbose=False`) points file descriptors 1 and 2 at /dev/null while
a model loads, for the whole process: a Textual screen drawn on them goes blank and anything
another thread writes is lost. Instead, llama.cpp's log lines go to a callback that keeps only
errors (for messages), and the Python-level chatter that `verbose=True` prints while loading is
dropped for the loading thread alone.
"""

from __future__ import annotations

import contextlib
import ctypes
import sys
import threading
from collections.abc import Iterator
from typing import Any, TextIO

from app.models import plain_error

_GGML_LOG_LEVEL_ERROR = 4  # ggml.h of the pinned build (llama-cpp-python's comments say 3)
_recent_errors: list[str] = []
_callback: Any = None
"""The installed ctypes callback: llama.cpp holds only a raw pointer, so it must stay alive here."""


def install_log_callback() -> None:
    """Route llama.cpp's (and ggml's) log lines to memory; idempotent."""
    global _callback
    import llama_cpp  # importing it installs the library's own printing callback first

    if _callback is not None:
        return

    @llama_cpp.llama_log_callback
    def _log(level: int, text: bytes, _user: ctypes.c_void_p) -> None:
        if level == _GGML_LOG_LEVEL_ERROR:
            line = text.decode("utf-8", "replace").strip()
            if line:
                _recent_errors.append(line)
                del _recent_errors[20:]

    llama_cpp.llama_log_set(_log, ctypes.c_void_p(0))
    _callback = _log


def clear_errors() -> None:
    _recent_errors.clear()


def first_error() -> str | None:
    """The first error llama.cpp logged since `clear_errors()` (the cause; later lines only
    report the failure), without the C function names it starts with."""
    return plain_error(_recent_errors[0]) if _recent_errors else None


class _ThreadFilter:
    """A stand-in for sys.stderr that drops one thread's writes and passes all others on."""

    def __init__(self, target: TextIO, thread: threading.Thread) -> None:
        self._target = target
        self._thread = thread

    def write(self, text: str) -> int:
        if threading.current_thread() is self._thread:
            return len(text)
        return self._target.write(text)

    def flush(self) -> None:
        if threading.current_thread() is not self._thread:
            self._target.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)


@contextlib.contextmanager
def drop_this_threads_stderr() -> Iterator[None]:
    """While the block runs, `print(..., file=sys.stderr)` from this thread goes nowhere.

    Only the Python object is wrapped (fds are untouched), and other threads' writes pass through.
    """
    original = sys.stderr
    wrapper = _ThreadFilter(original, threading.current_thread())
    sys.stderr = wrapper
    try:
        yield
    finally:
        if sys.stderr is wrapper:  # someone else may have swapped it meanwhile: leave theirs
            sys.stderr = original
