"""`run`: a scene script into a stored chat tree and its dialogue exports.

Order matters for the promises made to the user: the script, cast, lorebooks, formats and
output folder are all checked before the engine loads or anything is stored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.engine.loading import load_engine
from app.errors import LoreweaverError
from app.export import FORMATS, load_dialogue
from app.fsutil import write_text_atomic
from app.home import Home
from app.memory.store import ChatStore
from app.scenes.prepare import Prepared, prepare
from app.scenes.program import size
from app.scenes.runner import SceneRunner
from app.scenes.stored import Nodes, find_run, new_run
from app.settings import Settings, engine_threads

LOCAL_PARALLEL_NOTE = (
    "note: the local engine generates one line at a time; --parallel applies to a server model"
)


def parse_formats(text: str) -> list[str]:
    """`yarn,ink` or `all` as format names, each known (in FORMATS' order)."""
    asked = [part.strip().lower() for part in text.split(",") if part.strip()]
    if not asked or "all" in asked:
        return list(FORMATS)
    unknown = [form for form in asked if form not in FORMATS]
    if unknown:
        raise LoreweaverError(
            f"--format: unknown format {unknown[0]!r} (known: all, {', '.join(FORMATS)})"
        )
    return [form for form in FORMATS if form in asked]


def _out_dir(path: Path) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LoreweaverError(
            f"cannot use it as the output folder: {exc.strerror}", path=path
        ) from None
    return path


@dataclass
class RunResult:
    chat_id: int
    files: list[Path]
    lines: int
    flagged: int


def write_exports(
    store: ChatStore, chat_id: int, name: str, out: Path, forms: list[str]
) -> list[Path]:
    dialogue = load_dialogue(store, chat_id)
    files = []
    for form in forms:
        extension, writer = FORMATS[form]
        target = out / f"{name}.{extension}"
        write_text_atomic(target, writer(dialogue))
        files.append(target)
    return files


def run_scene(
    home: Home,
    settings: Settings,
    path: Path,
    out: Path,
    *,
    forms: list[str],
    resume: bool = False,
    parallel: int = 1,
    model: str | None = None,
    on_start: Callable[[int], None] = lambda total: None,
    on_line: Callable[[], None] = lambda: None,
    note: Callable[[str], None] = lambda text: None,
) -> RunResult:
    """Generate (or finish) the scene's tree, store it, and write its exports into `out`."""
    if parallel < 1:
        raise LoreweaverError(f"--parallel must be at least 1 (got {parallel})")
    prepared: Prepared = prepare(home, settings, path, model)
    out = _out_dir(out)
    if parallel > 1 and prepared.info.remote is None:
        note(LOCAL_PARALLEL_NOTE)
        parallel = 1
    with ChatStore.open(home) as store:
        chat = find_run(store, prepared) if resume else None
        if resume and chat is None:
            note(f"note: no stored run of scene {prepared.id!r} to resume: starting one")
        engine = load_engine(prepared.info, **engine_threads(settings), n_ctx_cap=settings.n_ctx)
        try:
            for member in prepared.cast:  # every adapter read (or refused) before any storing
                engine.use_adapters(member.adapters)
            chat = chat or new_run(store, prepared)
            count = 0

            def counted() -> None:
                nonlocal count
                count += 1
                on_line()

            on_start(size(prepared.program.steps))
            runner = SceneRunner(prepared, engine, Nodes(store, chat), parallel=parallel,
                                 on_line=counted)  # fmt: skip
            runner.run()
        finally:
            engine.close()
        files = write_exports(store, chat.id, prepared.id, out, forms)
    return RunResult(chat.id, files, count, runner.flagged)
