"""Everything a scene run needs, checked before any model loads or anything is stored: the
script, its cast and lorebooks, its program, and the model and prompt format it names."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from app.engine.adapters import label as adapters_label
from app.engine.loading import resolve_model
from app.errors import LoreweaverError
from app.group.cast import Member, give_adapters, load_cast
from app.home import Home
from app.memory.chat_state import state_entries
from app.models import ModelInfo
from app.prompts.formats import PromptFormat, choose_format
from app.scenes.program import Program, ScriptError, lay_out
from app.scenes.script import SceneScript, read_script, scene_id
from app.settings import Settings
from app.sheets import library


@dataclass
class Prepared:
    path: Path
    script: SceneScript
    id: str
    cast: list[Member]
    program: Program
    info: ModelInfo
    fmt: PromptFormat

    @property
    def fingerprint(self) -> str:
        """What a stored run must share to be resumed: script, id, model, format and the
        speakers' adapters by name and scale, as the model goes by its name (only when some
        have any: older runs keep their fingerprint)."""
        what = {"script": self.script.model_dump(mode="json"), "id": self.id,
                "model": self.info.name, "template": self.fmt.id}  # fmt: skip
        voices = {m.id: adapters_label(m.adapters) for m in self.cast if m.adapters}
        if voices:
            what["adapters"] = voices
        return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:16]


def _lore(home: Home, script: SceneScript, path: Path, cast: list[Member]) -> None:
    """Add the script's shared lorebooks to every member's world (one object: read once)."""
    for number, book_id in enumerate(script.lore):
        found = next(
            (d / f"{book_id}.yaml" for d in library.lorebook_dirs(home)
             if (d / f"{book_id}.yaml").is_file()),
            None,
        )  # fmt: skip
        if found is None:
            raise LoreweaverError(f"lore[{number}]: no lorebook {book_id!r}", path=path)
        book = library.load_lorebook(found)
        for member in cast:
            if book_id not in member.sheet.world:  # a book the sheet names is read already
                member.world.append(book)


def check_scene(home: Home, path: Path) -> tuple[SceneScript, str, list[Member], Program]:
    """The script, its id, cast and program, or one line naming the file and the place."""
    script = read_script(path)
    try:
        cast = load_cast(home, list(script.cast), minimum=1)
    except LoreweaverError as exc:
        raise LoreweaverError(str(exc), path=path) from None
    _lore(home, script, path, cast)
    sheet_state = {
        m.id: [(e.key, e.value) for e in state_entries(m.sheet, {}, user=script.persona.name)]
        for m in cast
    }
    try:
        program = lay_out(script, sheet_state)
    except ScriptError as exc:
        raise LoreweaverError(str(exc), path=path) from None
    return script, scene_id(script, path), cast, program


def prepare(home: Home, settings: Settings, path: Path, model: str | None = None) -> Prepared:
    script, ident, cast, program = check_scene(home, path)
    info = resolve_model(home, model or script.model or settings.model)
    fmt = choose_format(script.template or settings.template, info)
    give_adapters(cast, info, settings, home)
    return Prepared(path, script, ident, cast, program, info, fmt)
