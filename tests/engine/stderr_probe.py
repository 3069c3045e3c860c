"""Run as a script: load a model while another thread writes to fd 2 and to sys.stderr.

Prints "<writes> <writes while Llama() was constructing>" on stdout; the caller checks that
every write reached stderr (nothing pointed fd 2 elsewhere) and that llama.cpp added nothing.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import llama_cpp

from app.engine.base import Sampling
from app.engine.llamacpp import load_path
from app.prompts.segments import Prompt

constructing = threading.Event()
finished = threading.Event()
counts = {"all": 0, "during": 0}
_original_init = llama_cpp.Llama.__init__


def _tracked_init(self: Any, *args: Any, **kwargs: Any) -> None:
    constructing.set()
    try:
        _original_init(self, *args, **kwargs)
    finally:
        constructing.clear()


def _writer() -> None:
    while not finished.is_set():
        during = constructing.is_set()
        os.write(2, b"fd-mark\n")
        sys.stderr.write("py-mark\n")
        sys.stderr.flush()
        counts["all"] += 1
        counts["during"] += during
        time.sleep(0.001)


def main() -> None:
    llama_cpp.Llama.__init__ = _tracked_init  # type: ignore[method-assign]
    thread = threading.Thread(target=_writer)
    thread.start()
    engine = load_path(Path(sys.argv[1]), n_ctx=512, n_threads=1)
    finished.set()
    thread.join()
    prompt = Prompt.markup("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
    list(engine.generate(prompt, Sampling(temperature=0.0, max_tokens=4)))
    engine.close()
    print(counts["all"], counts["during"])


if __name__ == "__main__":
    main()
