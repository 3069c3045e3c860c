"""Which LoRA adapters a character speaks with on a model, wherever it speaks (a chat, a group
scene, a scene run, barks).

Two places name adapters: the model's entry in the settings (`Settings.model_adapters`, under
every character on that model) and the character's sheet (`Sheet.adapters`). The entry's come
first, then the sheet's; a file named in both is applied once, at the sheet's scale.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from app.engine.adapters import MAX_ADAPTERS, Adapter, adapter_problem, resolve
from app.errors import LoreweaverError
from app.home import Home, checkout_models_dir
from app.models import ModelInfo
from app.settings import Settings
from app.sheets.sheet import AdapterRef, Sheet
from app.sheets.validation import describe

MODEL_ENTRY = "model entry"
SHEET = "sheet"


def adapter_folders(home: Home | None) -> list[Path | None]:
    """Where a bare adapter name is looked up: the home's models folder, then the checkout's
    (adapters sit beside their base models)."""
    return [home.models if home is not None else None, checkout_models_dir()]


def resolve_refs(refs: Sequence[AdapterRef], home: Home | None, source: str) -> list[Adapter]:
    """`refs` as adapter files found in the models folders, marked with who named them."""
    found = resolve([(ref.file, ref.scale) for ref in refs], adapter_folders(home))
    return [Adapter(a.path, a.scale, source) for a in found]


def speaker_adapters(
    info: ModelInfo, sheet: Sheet, settings: Settings, home: Home | None
) -> list[Adapter]:
    """The adapters `sheet`'s character speaks with on `info`'s model: the model entry's, then
    the sheet's. A missing file or too many is one error naming where they were named."""
    entry = settings.model_adapters.get(info.id, [])
    if entry and info.remote is not None:
        raise LoreweaverError(
            f"settings: model_adapters: {info.id!r} is a remote model, whose server applies the "
            f"adapters it was started with (remove them: loreweaver models adapters {info.id} "
            "--clear)"
        )
    try:
        model = resolve_refs(entry, home, MODEL_ENTRY)
    except LoreweaverError as exc:
        raise LoreweaverError(f"settings: model_adapters: {info.id}: {exc}") from None
    try:
        own = resolve_refs(sheet.adapters, home, SHEET)
    except LoreweaverError as exc:
        raise LoreweaverError(f"{sheet.name}'s sheet: {exc}") from None
    mine = {a.path for a in own}
    chosen = [a for a in model if a.path not in mine] + own
    if len(chosen) > MAX_ADAPTERS:
        raise LoreweaverError(
            f"{len(chosen)} adapters for {sheet.name} on {info.id} ({len(chosen) - len(own)} "
            f"from the model entry, {len(own)} from the sheet); at most {MAX_ADAPTERS} can be "
            "applied"
        )
    return chosen


def parse_ref(text: str) -> AdapterRef:
    """`voice.gguf:0.5` as a reference (a bare name stays one; a path is made absolute, from
    the current folder); a bad scale is one line."""
    file, scale = text.strip(), 1.0
    head, colon, tail = file.rpartition(":")
    if colon:
        with contextlib.suppress(ValueError):  # else the colon is in the file's own name
            file, scale = head, float(tail)
    path = Path(file).expanduser()
    if len(path.parts) > 1 or file.startswith("~"):
        file = str(path.absolute())
    try:
        return AdapterRef(file=file, scale=scale)
    except ValidationError as exc:
        raise LoreweaverError(f"adapter {text.strip()!r}: {describe(exc)}") from None


def check_entry(info: ModelInfo, refs: Sequence[AdapterRef], home: Home | None) -> list[Adapter]:
    """A model entry's adapters, before it is saved: each file found, an adapter for the
    model's architecture, named once; the first problem is one error naming the file."""
    if info.remote is not None:
        raise LoreweaverError(
            f"{info.id} is a remote model: its server applies the adapters it was started with"
        )
    adapters = resolve_refs(refs, home, MODEL_ENTRY)
    for number, adapter in enumerate(adapters):
        problem = adapter_problem(adapter.path, info.architecture)
        if problem is not None:
            raise LoreweaverError(f"unusable adapter: {problem}", path=adapter.path)
        if any(a.path == adapter.path for a in adapters[:number]):
            raise LoreweaverError("the same adapter is named twice", path=adapter.path)
    return adapters
