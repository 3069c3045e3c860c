"""`loreweaver lorebooks …`, `characters lore-test` and the lore lines of `prompt --explain`,
run as a user runs them: real processes, the bundled model, real files in a temporary home."""

from __future__ import annotations

import json
from pathlib import Path

from support import one_line_error, run_cli

from app.home import Home

FIXTURES = Path(__file__).parents[1] / "sheets" / "fixtures"
WORLD = FIXTURES / "st_world_info.json"


def test_world_info_imports_lists_and_exports_back_in_sillytavern_shape(
    tmp_path: Path, lw_home: Home
) -> None:
    imported = run_cli("lorebooks", "import", str(WORLD), "--as", "vale")
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.splitlines()[-1] == "vale"
    assert (lw_home.lorebooks / "vale.yaml").is_file()
    assert "vale\t" in run_cli("lorebooks", "list").stdout
    again = run_cli("lorebooks", "import", str(WORLD), "--as", "vale")
    assert again.returncode == 0 and "already in your library" in again.stdout

    out = tmp_path / "vale.json"
    exported = run_cli("lorebooks", "export", "vale", "-o", str(out))
    assert exported.returncode == 0, exported.stderr
    source = json.loads(WORLD.read_text())["entries"]
    written = json.loads(out.read_text())["entries"]
    assert set(written) == set(source)
    for uid, entry in written.items():
        for field in ("uid", "key", "content", "comment", "constant", "order", "position"):
            assert entry[field] == source[uid][field], (uid, field)
    assert written["7"]["delayUntilRecursion"] is True
    assert written["8"]["groupOverride"] is True and written["8"]["position"] == 10

    v3 = tmp_path / "vale.v3.json"
    assert run_cli("lorebooks", "export", "vale", "-o", str(v3), "-f", "v3").returncode == 0
    book = json.loads(v3.read_text())
    assert book["spec"] == "lorebook_v3" and "token_budget" not in book["data"]


def test_lorebooks_refuse_a_card_and_an_unknown_id_in_one_line(
    tmp_path: Path, lw_home: Home
) -> None:
    line = one_line_error(run_cli("lorebooks", "import", str(FIXTURES / "card_v3_book.json")))
    assert "card_v3_book.json" in line and "use `characters import`" in line
    assert not lw_home.lorebooks.exists() or not any(lw_home.lorebooks.iterdir())
    missing = one_line_error(run_cli("lorebooks", "export", "nowhere", "-o", str(tmp_path / "x")))
    assert "no lorebook 'nowhere'" in missing
    assert not (tmp_path / "x").exists()


def test_lore_test_says_what_fires_and_what_is_held_back(lw_home: Home) -> None:
    text = "Any news from Harrowford about the caravan?"
    shown = run_cli("characters", "lore-test", "brenna", text)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].split(" · ")[0].endswith("entries fire")
    assert any(line.startswith("✓ harrowford") and "Harrowford" in line for line in lines)
    assert any(line.startswith("✗ ") for line in lines)
    assert any(line.startswith("· budget ") for line in lines)

    report = json.loads(run_cli("characters", "lore-test", "brenna", text, "--json").stdout)
    fired = {f["entry"]: f["why"] for f in report["fired"]}
    assert fired["harrowford 2. Harrowford"] == "key 'Harrowford' matched in message -1"
    assert "harrowford 5. The missing caravan" in fired
    held = {h["entry"]: h["why"] for h in report["held"]}
    assert held["harrowford 4. The Drowned Lantern"].startswith("no key found in the text")
    assert report["budget"] > 0 and report["tokens"] <= report["budget"]
    assert report["rules"][0].startswith("budget ")
    # the text box and the command tell the same story
    assert len(report["fired"]) == sum(1 for line in lines if line.startswith("✓ "))


def test_lore_test_of_an_unknown_character_is_one_line(lw_home: Home) -> None:
    assert "nobody" in one_line_error(run_cli("characters", "lore-test", "nobody", "hi"))


def test_prompt_explain_names_the_budget_rule_and_the_defaults(lw_home: Home) -> None:
    imported = run_cli("lorebooks", "import", str(WORLD), "--as", "vale")
    assert imported.returncode == 0, imported.stderr
    sheet = lw_home.characters / "wren.yaml"
    sheet.parent.mkdir(parents=True, exist_ok=True)
    sheet.write_text(
        "name: Wren\ndescription: Keeps the lighthouse.\nfirst_message: The lamp is lit.\n"
        "world: [vale]\n",
        encoding="utf-8",
    )
    result = run_cli("prompt", "wren", "--say", "What does the council want?", "--explain")
    assert result.returncode == 0, result.stderr
    rules = [line.strip() for line in result.stdout.splitlines() if "rule: " in line]
    assert any("% of the" in line and "settings world_info.budget" in line for line in rules)
    assert any("recursion on: the settings' default" in line for line in rules)
    assert any("match whole words on: the settings' default" in line for line in rules)


def test_settings_world_info_decides_what_books_leave_unset(lw_home: Home) -> None:
    assert run_cli("lorebooks", "import", str(WORLD), "--as", "vale").returncode == 0
    sheet = lw_home.characters / "wren.yaml"
    sheet.write_text(
        "name: Wren\ndescription: Keeps the lighthouse.\nfirst_message: The lamp is lit.\n"
        "world: [vale]\n",
        encoding="utf-8",
    )

    def report() -> dict[str, object]:
        result = run_cli("characters", "lore-test", "wren", "a walk in the woodland", "--json")
        assert result.returncode == 0, result.stderr
        data: dict[str, object] = json.loads(result.stdout)
        return data

    default = report()
    assert "Thornwood timber" not in json.dumps(default["fired"])
    lw_home.settings_file.write_text(
        "world_info:\n  budget: 10\n  budget_cap: 300\n  match_whole_words: false\n",
        encoding="utf-8",
    )
    changed = report()
    assert "Thornwood timber" in json.dumps(changed["fired"])
    rules = changed["rules"]
    assert isinstance(rules, list) and rules[0].startswith("budget ")
    assert "10 % of the" in rules[0]
    assert "match whole words off: the settings' default" in " ".join(rules)
    lw_home.settings_file.write_text("world_info:\n  budget: 250\n", encoding="utf-8")
    line = one_line_error(run_cli("characters", "lore-test", "wren", "hi"))
    assert "world_info.budget" in line
