"""The library as a collection: summaries, search, duplicate and delete, on real files."""

from __future__ import annotations

import pytest
from cards.cardkit import tiny_png

from app.errors import LoreweaverError
from app.home import Home, sample_characters_dir
from app.sheets import catalog, library


def _write(home: Home, name: str, text: str) -> None:
    (home.characters / f"{name}.yaml").write_text(text, encoding="utf-8")


def test_summaries_cover_samples_and_user_sheets_and_survive_a_broken_one(lw_home: Home) -> None:
    _write(
        lw_home,
        "mira",
        "name: Mira\ntags: [healer]\ndescription: |-\n  {{char}} heals {{user}}.\n  Second line.\n",
    )
    _write(lw_home, "broken", "name: [unclosed\n")
    by_id = {s.id: s for s in catalog.summaries(lw_home, user="Ann")}
    samples = sample_characters_dir()
    assert samples is not None
    sample_ids = {p.stem for p in samples.glob("*.yaml")}
    assert sample_ids <= set(by_id)
    assert all(by_id[i].sample for i in sample_ids)
    mira = by_id["mira"]
    assert (mira.name, mira.tags, mira.blurb, mira.sample) == (
        "Mira",
        ("healer",),
        "Mira heals Ann.",
        False,
    )
    assert by_id["broken"].error and "broken.yaml" in by_id["broken"].error


def test_matches_every_word_in_name_tags_or_blurb(lw_home: Home) -> None:
    summary = catalog.Summary("brenna", "Brenna Ironhand", ("blacksmith",), "Sells swords.", True)
    assert summary.matches("")
    assert summary.matches("IRON smith")
    assert summary.matches("swords brenna")
    assert not summary.matches("iron villain")


def test_duplicate_copies_a_sample_verbatim_under_a_new_id(lw_home: Home) -> None:
    source, _ = library.load(lw_home, "brenna")
    entry = catalog.duplicate(lw_home, "brenna", "bren2")
    assert entry.path == lw_home.characters / "bren2.yaml" and not entry.sample
    assert entry.path.read_bytes() == source.path.read_bytes()
    assert library.load(lw_home, "bren2")[1].name == "Brenna Ironhand"


def test_duplicate_copies_avatar_and_assets_under_the_new_id(lw_home: Home) -> None:
    png = tiny_png()
    (lw_home.characters / "mira.png").write_bytes(png)
    (lw_home.characters / "mira.assets" / "x").mkdir(parents=True)
    (lw_home.characters / "mira.assets" / "x" / "a.txt").write_text("asset", encoding="utf-8")
    _write(lw_home, "mira", "name: Mira\navatar: mira.png\n")
    catalog.duplicate(lw_home, "mira", "mira_2")
    assert (lw_home.characters / "mira_2.png").read_bytes() == png
    assert (lw_home.characters / "mira_2.assets" / "x" / "a.txt").read_text(
        encoding="utf-8"
    ) == "asset"
    assert library.load(lw_home, "mira_2")[1].avatar == "mira_2.png"


@pytest.mark.parametrize(
    ("new_id", "problem"),
    [
        ("Bad Id", "lowercase"),
        ("", "lowercase"),
        ("x" * 65, "lowercase"),
        ("hobb", "already exists"),
    ],
)
def test_duplicate_refuses_bad_or_taken_ids(lw_home: Home, new_id: str, problem: str) -> None:
    before = sorted(lw_home.characters.iterdir())
    with pytest.raises(LoreweaverError, match=problem):
        catalog.duplicate(lw_home, "brenna", new_id)
    assert sorted(lw_home.characters.iterdir()) == before


def test_delete_removes_own_files_only_and_refuses_samples(lw_home: Home) -> None:
    (lw_home.characters / "mira.png").write_bytes(tiny_png())
    (lw_home.characters / "other.png").write_bytes(tiny_png())
    (lw_home.characters / "mira.assets").mkdir()
    _write(lw_home, "mira", "name: Mira\navatar: ../other.png\n")
    catalog.delete(lw_home, "mira")
    assert sorted(p.name for p in lw_home.characters.iterdir()) == ["other.png"]
    with pytest.raises(LoreweaverError, match="sample"):
        catalog.delete(lw_home, "brenna")
    with pytest.raises(LoreweaverError, match="unknown character"):
        catalog.delete(lw_home, "mira")
