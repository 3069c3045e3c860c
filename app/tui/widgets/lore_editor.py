"""The character's own lorebook: its entries listed beside the form of the selected one.

Every edit is copied into the entry's draft at once (`sync_form`), so the list, the dirty check
and the validation always see what is on screen. The screen validates; this widget only shows
the messages it is given beside the boxes they name.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Checkbox, Input, Label, OptionList, Select, TextArea

from app.sheets.lorebook import Lorebook
from app.tui.lore_form import (
    LOGIC_LABELS,
    LOGICS,
    POSITIONS,
    EntryDraft,
    book_data,
    book_settings_text,
    entry_draft,
    secondary_note,
    with_secondary_rule,
)
from app.tui.widgets.field_box import FieldBox

_BOXES = {
    "name": "Name",
    "keys": "Keys (one per line; /regex/ allowed)",
    "secondary_keys": "Secondary keys (one per line)",
    "depth": "Depth",
    "insertion_order": "Order",
    "content": "Content",
    "other": "Other (YAML: priority, probability, group, …)",
}


def _text_area(text: str, box_id: str) -> TextArea:
    return TextArea(text, id=box_id, soft_wrap=True, tab_behavior="focus", compact=True)


class LoreEditor(Horizontal):
    def __init__(self, book: Lorebook | None) -> None:
        super().__init__(id="lore")
        self.had_book = book is not None
        self.drafts: list[EntryDraft] = [entry_draft(e) for e in book.entries] if book else []
        self.settings_text = book_settings_text(book)
        self.selected: int | None = 0 if self.drafts else None

    # -- layout ----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        draft = self.drafts[0] if self.drafts else EntryDraft()
        with Vertical(id="lore-side"):
            yield OptionList(*self._titles(), id="lore-entries", markup=False)
            with Horizontal(id="lore-buttons"):
                yield Button("Add", id="lore-add", variant="primary", compact=True)
                yield Button("Remove", id="lore-remove", variant="error", compact=True)
        with VerticalScroll(id="lore-form"):
            yield Label("", id="lore-message", markup=False)
            yield FieldBox(
                "Book (YAML: name, scan_depth, token_budget, …)",
                _text_area(self.settings_text, "lore-book"),
                field="settings",
                counted=False,
            )
            yield Label("No entries yet: Add (Ctrl+N) creates one.", id="lore-empty")
            with Vertical(id="lore-entry"):
                yield self._box("name", Input(draft.name, id="lore-name", compact=True))
                yield self._box("keys", _text_area(draft.keys, "lore-keys"))
                with Horizontal(classes="lore-flags"):
                    yield Checkbox("Enabled", draft.enabled, id="lore-enabled", compact=True)
                    yield Checkbox("Constant", draft.constant, id="lore-constant", compact=True)
                    yield Checkbox("Selective", draft.selective, id="lore-selective", compact=True)
                secondary = _text_area(draft.secondary_keys, "lore-secondary")
                yield self._box("secondary_keys", secondary)
                with Horizontal(classes="lore-row"):
                    with Vertical(classes="lore-choice"):
                        yield Label("Secondary logic")
                        yield Select(
                            [(LOGIC_LABELS[v], v) for v in LOGICS],
                            value=draft.selective_logic,
                            allow_blank=False,
                            compact=True,
                            id="lore-logic",
                        )
                    with Vertical(classes="lore-choice"):
                        yield Label("Position")
                        yield Select(
                            [(v.replace("_", " "), v) for v in POSITIONS],
                            value=draft.position,
                            allow_blank=False,
                            compact=True,
                            id="lore-position",
                        )
                with Horizontal(classes="lore-row"):
                    yield self._box("depth", Input(draft.depth, id="lore-depth", compact=True))
                    order = Input(draft.insertion_order, id="lore-order", compact=True)
                    yield self._box("insertion_order", order)
                yield self._box("content", _text_area(draft.content, "lore-content"), counted=True)
                yield self._box("other", _text_area(draft.other, "lore-other"))

    def _box(self, field: str, control: Input | TextArea, *, counted: bool = False) -> FieldBox:
        return FieldBox(_BOXES[field], control, field=f"entry.{field}", counted=counted)

    def _titles(self) -> list[str]:
        return [draft.title(i) for i, draft in enumerate(self.drafts)]

    def on_mount(self) -> None:
        self._show_selected()

    # -- drafts ----------------------------------------------------------------------------

    def _read_form(self) -> EntryDraft:
        def text(box_id: str) -> str:
            widget = self.query_one(box_id)
            if isinstance(widget, Input):
                return widget.value
            assert isinstance(widget, TextArea), box_id
            return widget.text

        return EntryDraft(
            name=text("#lore-name"),
            keys=text("#lore-keys"),
            secondary_keys=text("#lore-secondary"),
            selective=self.query_one("#lore-selective", Checkbox).value,
            selective_logic=str(self.query_one("#lore-logic", Select).value),
            position=str(self.query_one("#lore-position", Select).value),
            depth=text("#lore-depth"),
            insertion_order=text("#lore-order"),
            constant=self.query_one("#lore-constant", Checkbox).value,
            enabled=self.query_one("#lore-enabled", Checkbox).value,
            content=text("#lore-content"),
            other=text("#lore-other"),
        )

    def sync_form(self) -> None:
        """Copy what the form shows into the selected entry's draft (and its list title)."""
        self.settings_text = self.query_one("#lore-book", TextArea).text
        index = self.selected
        if index is None:
            return
        draft = with_secondary_rule(self.drafts[index], self._read_form())
        if draft.selective != self.query_one("#lore-selective", Checkbox).value:
            self.query_one("#lore-selective", Checkbox).value = draft.selective
        if draft != self.drafts[index]:
            self.drafts[index] = draft
            self.query_one(OptionList).replace_option_prompt_at_index(index, draft.title(index))
        self._show_secondary_note(draft)

    def _show_secondary_note(self, draft: EntryDraft) -> None:
        box = next(b for b in self.query(FieldBox) if b.field == "entry.secondary_keys")
        note = secondary_note(draft)
        box.query_one(".field-label", Label).update(
            f"{_BOXES['secondary_keys']} — {note}" if note else _BOXES["secondary_keys"]
        )
        box.set_class(bool(note), "noted")

    def snapshot(self) -> tuple[object, ...]:
        """Everything the user can change here, to compare with the saved state."""
        self.sync_form()
        return (self.settings_text, *self.drafts)

    def data(self) -> tuple[dict[str, object] | None, dict[str, str]]:
        self.sync_form()
        return book_data(self.settings_text, self.drafts, self.had_book)

    @on(Input.Changed)
    @on(TextArea.Changed)
    @on(Checkbox.Changed)
    @on(Select.Changed)
    def _edited(self) -> None:
        self.sync_form()

    # -- entries ---------------------------------------------------------------------------

    @on(OptionList.OptionHighlighted, "#lore-entries")
    def _picked(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_index != self.selected:
            self.select(event.option_index)

    def select(self, index: int | None) -> None:
        self.sync_form()
        self.selected = index
        self._show_selected()

    def _show_selected(self) -> None:
        index = self.selected
        self.query_one("#lore-entry").display = index is not None
        self.query_one("#lore-empty").display = index is None
        self.query_one("#lore-remove").disabled = index is None
        options = self.query_one(OptionList)
        if index is None:
            return
        if options.highlighted != index:
            options.highlighted = index
        draft = self.drafts[index]
        for box_id, value in (
            ("#lore-name", draft.name),
            ("#lore-depth", draft.depth),
            ("#lore-order", draft.insertion_order),
        ):
            self.query_one(box_id, Input).value = value
        for box_id, value in (
            ("#lore-keys", draft.keys),
            ("#lore-secondary", draft.secondary_keys),
            ("#lore-content", draft.content),
            ("#lore-other", draft.other),
        ):
            area = self.query_one(box_id, TextArea)
            if area.text != value:
                area.load_text(value)
        self.query_one("#lore-enabled", Checkbox).value = draft.enabled
        self.query_one("#lore-constant", Checkbox).value = draft.constant
        self.query_one("#lore-selective", Checkbox).value = draft.selective
        self.query_one("#lore-logic", Select).value = draft.selective_logic
        self.query_one("#lore-position", Select).value = draft.position
        self._show_secondary_note(draft)

    def add_entry(self) -> None:
        self.sync_form()
        self.drafts.append(EntryDraft())
        self.query_one(OptionList).add_option(self.drafts[-1].title(len(self.drafts) - 1))
        self.select(len(self.drafts) - 1)
        self.query_one("#lore-keys", TextArea).focus()

    def remove_entry(self) -> None:
        index = self.selected
        if index is None:
            return
        self.drafts.pop(index)
        self.selected = None
        options = self.query_one(OptionList)
        options.clear_options()
        options.add_options(self._titles())
        self.select(min(index, len(self.drafts) - 1) if self.drafts else None)

    @on(Button.Pressed, "#lore-add")
    def _add_pressed(self) -> None:
        self.add_entry()

    @on(Button.Pressed, "#lore-remove")
    def _remove_pressed(self) -> None:
        self.remove_entry()

    # -- messages --------------------------------------------------------------------------

    def show_errors(self, errors: dict[str, str]) -> None:
        """`errors` keyed `settings` or `<index>.<field>`: the selected entry's beside its
        boxes, the first of all on the message line (naming its entry)."""
        for box in self.query(FieldBox):
            key = "settings" if box.field == "settings" else f"{self.selected}.{box.field[6:]}"
            box.show_error(errors.get(key))
        first = next(iter(errors.items()), None)
        line = ""
        if first is not None:
            where, text = first
            line = text if where == "settings" else f"entry {int(where.split('.')[0]) + 1}: {text}"
        message = self.query_one("#lore-message", Label)
        message.update(f"✗ {line}" if line else "")
        message.display = bool(line)
