"""Writing sheets into the home (app/sheets/saving.py): what the editor and the CLI call."""

from __future__ import annotations

import pytest

from app.errors import LoreweaverError
from app.home import Home
from app.sheets import library, saving


def test_saving_a_sample_writes_a_copy_that_shadows_it(lw_home: Home) -> None:
    entry, sheet = library.load(lw_home, "brenna")
    assert entry.sample
    before = entry.path.read_bytes()
    saved = saving.save_sheet(lw_home, entry, sheet.model_copy(update={"nickname": "Smithy"}))
    assert saved.path == lw_home.characters / "brenna.yaml" and not saved.sample
    assert entry.path.read_bytes() == before  # the sample is never written
    again, copy = library.load(lw_home, "brenna")
    assert again == saved and copy.nickname == "Smithy"
    assert copy.model_dump(exclude={"nickname"}) == sheet.model_dump(exclude={"nickname"})
    if sheet.avatar:  # its avatar goes with it
        assert (lw_home.characters / sheet.avatar).is_file()


def test_a_failed_write_is_one_line_naming_the_file_and_leaves_no_debris(lw_home: Home) -> None:
    path = lw_home.characters / "aria.yaml"
    path.write_text("name: Aria\n", encoding="utf-8")
    entry, sheet = library.load(lw_home, "aria")
    path.unlink()
    path.mkdir()  # the rename onto it must fail (root ignores file modes, so not chmod)
    with pytest.raises(LoreweaverError, match="cannot write") as caught:
        saving.save_sheet(lw_home, entry, sheet.model_copy(update={"role": "Mapmaker"}))
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)
    assert path.is_dir() and sorted(p.name for p in lw_home.characters.iterdir()) == ["aria.yaml"]
