"""Model and sampling settings: pick a model from the registry, the LoRA adapters a model applies
under every character, a prompt format, sampler values, llama.cpp's threads.

Returns the edited `Settings` (the app saves them in the home and reloads the model if the
model, its format or the context size changed); nothing is applied until Ctrl+S.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Label, Select

from app.engine.adapters import Adapter, label
from app.errors import LoreweaverError
from app.home import Home
from app.models import ModelInfo
from app.prompts.formats import FAMILIES
from app.settings import Settings, save_preset
from app.sheets.validation import describe
from app.speaker_adapters import check_entry, parse_ref
from app.text import safe_line

BUNDLED = "(bundled)"
STOP_SEPARATOR = " | "
FIELDS: tuple[tuple[str, str], ...] = (
    ("temperature", "temperature"),
    ("top_p", "top-p"),
    ("top_k", "top-k"),
    ("min_p", "min-p"),
    ("repeat_penalty", "repeat penalty"),
    ("seed", "seed (empty: random)"),
    ("max_tokens", "max tokens"),
)
THREAD_WAITS = (
    ("OpenMP's own (spin)", "library"),
    ("sleep", "sleep"),
    ("spin", "spin"),
)
"""`Settings.thread_wait` choices, as shown."""
ADAPT = (
    ("yes: fewer threads while other programs hold cores", True),
    ("no: always the count above", False),
)
"""`Settings.thread_adapt` choices, as shown."""


def _mb(size: int) -> str:
    return f"{size / 1_000_000:,.0f} MB"


class ModelSettingsScreen(ModalScreen[Settings | None]):
    BINDINGS = [
        Binding("ctrl+s", "save", "Save"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(
        self, settings: Settings, models: list[ModelInfo], home: Home | None = None
    ) -> None:
        super().__init__()
        self.settings = settings
        self.models = models
        self.home = home
        """Where adapter files are looked up (its models folder)."""
        self.chosen: str | None = settings.model
        self.entries = dict(settings.model_adapters)
        """Each model's adapters as edited here (`Settings.model_adapters`), saved on Ctrl+S."""
        self.highlighted: ModelInfo | None = None

    def compose(self) -> ComposeResult:
        sampling = self.settings.sampling
        with Vertical(classes="dialog wide"):
            yield Label("Model and sampling — Enter picks a model, Ctrl+S saves, Esc cancels")
            yield DataTable(id="models", cursor_type="row", zebra_stripes=True)
            yield Label("", id="model-adapters", markup=False)
            with VerticalScroll(id="sampler"):
                with Horizontal(classes="field"):
                    yield Label("LoRA on this model", classes="name")
                    yield Input(
                        placeholder="file[:scale], … then Enter: under every character",
                        id="adapters",
                        compact=True,
                    )
                with Horizontal(classes="field"):
                    yield Label("prompt format", classes="name")
                    yield Select(
                        [(family, family) for family in (*FAMILIES, "gguf")],
                        value=self.settings.template or Select.NULL,
                        prompt="auto (the file's own, else detected)",
                        id="template",
                        compact=True,
                    )
                with Horizontal(classes="field"):
                    yield Label("preset", classes="name")
                    yield Select(
                        [(name, name) for name in self.settings.all_presets()],
                        id="preset",
                        compact=True,
                    )
                for key, label in FIELDS:
                    value = getattr(sampling, key)
                    with Horizontal(classes="field"):
                        yield Label(label, classes="name")
                        yield Input(
                            "" if value is None else str(value), id=f"s-{key}", compact=True
                        )
                with Horizontal(classes="field"):
                    yield Label("context size (max)", classes="name")
                    yield Input(str(self.settings.n_ctx), id="n_ctx", compact=True)
                yield from self._thread_fields()
                with Horizontal(classes="field"):
                    yield Label("stop strings (a | b)", classes="name")
                    yield Input(STOP_SEPARATOR.join(self.settings.stop), id="stops", compact=True)
                with Horizontal(classes="field"):
                    yield Label("save as preset", classes="name")
                    yield Input(placeholder="a name, then Enter", id="save-preset", compact=True)

    def _thread_fields(self) -> ComposeResult:
        """llama.cpp's threads (`Settings.n_threads` and the rest; see `bench --busy`)."""
        settings = self.settings
        with Horizontal(classes="field"):
            yield Label("threads per token", classes="name")
            yield Input(str(settings.n_threads), id="n_threads", compact=True)
        with Horizontal(classes="field"):
            yield Label("adapt to busy machine", classes="name")
            yield Select(
                ADAPT,
                value=settings.thread_adapt,
                allow_blank=False,
                id="thread_adapt",
                compact=True,
            )
        with Horizontal(classes="field"):
            yield Label("threads for prompts", classes="name")
            batch = settings.n_threads_batch
            yield Input(
                "" if batch is None else str(batch),
                placeholder="as per token",
                id="n_threads_batch",
                compact=True,
            )
        with Horizontal(classes="field"):
            yield Label("thread wait (restart)", classes="name")
            yield Select(THREAD_WAITS, value=settings.thread_wait, id="thread_wait", compact=True)

    def on_mount(self) -> None:
        table = self.query_one("#models", DataTable)
        table.add_columns("", "model", "family", "size", "quant", "file", "context", "usable")
        for info in self.models:
            key = BUNDLED if info.source == "bundled" else str(info.path)
            table.add_row(
                "●" if self._is_chosen(info) else "",
                info.name,
                info.family or "?",
                info.size_label or "",
                info.quantization or "",
                _mb(info.file_size),
                str(info.context_length or ""),
                "yes" if info.usable else f"no: {info.problem}",
                key=key,
            )
        table.focus()

    def _info(self, key: str | None) -> ModelInfo | None:
        """The model of a table row (by its key)."""
        key = key or BUNDLED
        return next(
            (m for m in self.models if (BUNDLED if m.source == "bundled" else str(m.path)) == key),
            None,
        )

    @on(DataTable.RowHighlighted, "#models")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        """The highlighted model's adapters, shown and in the field to edit."""
        self.highlighted = self._info(event.row_key.value)
        if self.highlighted is not None:
            refs = self.entries.get(self.highlighted.id, [])
            field = self.query_one("#adapters", Input)
            field.value = ", ".join(f"{ref.file}:{ref.scale:g}" for ref in refs)
            self._show_adapters(self.highlighted)

    def _show_adapters(self, info: ModelInfo) -> None:
        named = [Adapter(Path(r.file), r.scale) for r in self.entries.get(info.id, [])]
        if named:
            text = f"LoRA on {info.id}, under every character: {label(named)}"
        elif info.remote is not None:
            text = f"LoRA on {info.id}: the server's own (it applies those it was started with)"
        else:
            text = f"LoRA on {info.id}: none"
        self.query_one("#model-adapters", Label).update(safe_line(text))

    @on(Input.Submitted, "#adapters")
    def _set_adapters(self, event: Input.Submitted) -> None:
        """Keep the typed adapters for the highlighted model, every file checked first (as
        `loreweaver models adapters` does); a problem leaves its entry as it was."""
        info = self.highlighted
        if info is None:
            self.notify("Highlight a model first.", severity="warning")
            return
        try:
            refs = [parse_ref(part) for part in event.value.split(",") if part.strip()]
            check_entry(info, refs, self.home)
        except LoreweaverError as exc:
            self.notify(safe_line(str(exc)), severity="error", timeout=8)
            return
        if refs:
            self.entries[info.id] = refs
        else:
            self.entries.pop(info.id, None)
        self._show_adapters(info)
        self.notify(f"LoRA on {info.id} kept; Ctrl+S saves it with the settings.")

    def _is_chosen(self, info: ModelInfo) -> bool:
        if self.chosen in (None, ""):
            return info.source == "bundled"
        return self.chosen in (str(info.path), info.id, info.name)

    @on(DataTable.RowSelected, "#models")
    def _pick(self, event: DataTable.RowSelected) -> None:
        key = event.row_key.value or BUNDLED
        info = self._info(key)
        assert info is not None
        if not info.usable:
            self.notify(f"{info.name} cannot be used: {info.problem}", severity="error")
            return
        self.chosen = None if key == BUNDLED else key
        table = self.query_one("#models", DataTable)
        for row in table.rows:
            table.update_cell(
                row, table.ordered_columns[0].key, "●" if row == event.row_key else ""
            )
        self.notify(f"model: {info.name}")

    @on(Select.Changed, "#preset")
    def _preset(self, event: Select.Changed) -> None:
        if event.value is Select.NULL:
            return
        preset = self.settings.all_presets()[str(event.value)]
        for key, _ in FIELDS:
            value = getattr(preset, key)
            self.query_one(f"#s-{key}", Input).value = "" if value is None else str(value)

    def edited(self) -> Settings:
        """The settings as the form shows them; raises ValidationError for a bad value."""
        sampling: dict[str, Any] = {}
        for key, _ in FIELDS:
            text = self.query_one(f"#s-{key}", Input).value.strip()
            sampling[key] = None if text == "" else text
        template = self.query_one("#template", Select).value
        data = self.settings.model_dump()
        batch = self.query_one("#n_threads_batch", Input).value.strip()
        wait = self.query_one("#thread_wait", Select).value
        stops = self.query_one("#stops", Input).value.split(STOP_SEPARATOR.strip())
        data.update(
            model=self.chosen,
            template=None if template is Select.NULL else template,
            n_ctx=self.query_one("#n_ctx", Input).value.strip(),
            n_threads=self.query_one("#n_threads", Input).value.strip(),
            n_threads_batch=batch or None,
            thread_adapt=self.query_one("#thread_adapt", Select).value,
            thread_wait=self.settings.thread_wait if wait is Select.NULL else wait,
            sampling={k: v for k, v in sampling.items() if v is not None or k == "seed"},
            stop=[s.strip() for s in stops if s.strip()],
            model_adapters=self.entries,
        )
        return Settings.model_validate(data)

    @on(Input.Submitted, "#save-preset")
    def _save_preset(self, event: Input.Submitted) -> None:
        """Keep the sampler values shown as a preset (saved with the settings on Ctrl+S)."""
        try:
            edited = self.edited()
            self.settings = save_preset(self.settings, event.value, edited.sampling)
        except ValidationError as exc:
            self.notify(describe(exc), severity="error", timeout=8)
            return
        except LoreweaverError as exc:
            self.notify(str(exc), severity="error", timeout=8)
            return
        name = " ".join(event.value.split())
        self.query_one("#preset", Select).set_options(
            [(preset, preset) for preset in self.settings.all_presets()]
        )
        event.input.value = ""
        self.notify(f"Preset {name!r} kept; Ctrl+S saves it with the settings.")

    def action_save(self) -> None:
        try:
            settings = self.edited()
        except ValidationError as exc:
            self.notify(describe(exc), severity="error", timeout=8)
            return
        self.dismiss(settings)

    def action_cancel(self) -> None:
        self.dismiss(None)
