"""Hostile files: every read path, every layer, one clean line or success, never a traceback.

Cases are generated (shapes × places × formats), run in batches through the real CLI under time
and memory limits (`harness.run_batch`), and counted per class (printed; run with `-s`).
"""

from __future__ import annotations

import base64
import io
import itertools
import json
import struct
import warnings
import zipfile
import zlib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hostile.harness import Outcome, run_batch, tree_digest

from app.errors import LoreweaverError
from app.home import Home
from app.sheets.cards.png import placeholder_avatar

SURROGATES = ("\ud800", "\udfff", "a\udc80b", "tail \ud83d")
BATCH_MEMORY = 1536 * 1024 * 1024


def _count(kind: str, outcomes: list[Outcome]) -> Counter[str]:
    counts = Counter(outcome.verdict() for outcome in outcomes)
    print(f"\nHOSTILE files/{kind}: {len(outcomes)} cases, {dict(counts)}")
    bad = [outcome for outcome in outcomes if outcome.verdict() not in ("ok", "error")]
    assert not bad, "\n".join(outcome.describe() for outcome in bad[:5])
    return counts


def _env(home: Home) -> dict[str, str]:
    return {"LOREWEAVER_HOME": str(home.root)}


# -- card files ------------------------------------------------------------------------------


def _card(data: dict[str, Any], spec: str) -> dict[str, Any]:
    base = {"name": "Hostile", "description": "d", "first_mes": "Hello.", "extensions": {}}
    card = {
        "spec": spec,
        "spec_version": "3.0" if spec.endswith("v3") else "2.0",
        "data": {**base, **data},
    }
    return card


def _png(card: dict[str, Any]) -> bytes:
    """A PNG with a `chara` tEXt chunk holding the card as ASCII JSON (surrogates as escapes)."""
    image = placeholder_avatar("Hostile")
    text = base64.b64encode(json.dumps(card).encode("ascii"))
    body = b"chara\0" + text
    chunk = struct.pack(">I", len(body)) + b"tEXt" + body
    chunk += struct.pack(">I", zlib.crc32(b"tEXt" + body) & 0xFFFFFFFF)
    end = image.rindex(b"IEND") - 4
    return image[:end] + chunk + image[end:]


def _write_card(folder: Path, name: str, card: dict[str, Any], fmt: str) -> Path:
    """The card as `fmt`: JSON and YAML texts escape lone surrogates as `\\udXXX`."""
    if fmt == "png":
        path = folder / f"{name}.png"
        path.write_bytes(_png(card))
    elif fmt == "yaml":
        sheet = {key: value for key, value in card["data"].items() if key != "first_mes"}
        path = folder / f"{name}.yaml"
        path.write_text(json.dumps(sheet), encoding="ascii")  # JSON is YAML
    else:
        path = folder / f"{name}.json"
        path.write_text(json.dumps(card), encoding="ascii")
    return path


def _surrogate_places(text: str) -> dict[str, dict[str, Any]]:
    return {
        "extension value": {"extensions": {"x": text}},
        "extension key": {"extensions": {text: "v"}},
        "unknown field": {"foo": text},
        "nested unknown": {"foo": {"a": [1, {"b": text}]}},
        "description": {"description": f"hi {text}"},
        "name": {"name": f"N{text}"},
        "lore entry extension": {
            "character_book": {
                "entries": [{"keys": ["k"], "content": "c", "extensions": {"x": text}}]
            }
        },
    }


def test_surrogates_in_every_untyped_field_import_export_prompt(
    lw_home: Home, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    ids: list[str] = []
    imports: list[tuple[list[str], dict[str, str]]] = []
    cycle = itertools.cycle(SURROGATES)
    for number, (fmt, place) in enumerate(
        itertools.product(("v2", "v3", "png", "yaml", "home"), range(7))
    ):
        text = next(cycle)
        label, data = list(_surrogate_places(text).items())[place]
        card = _card(data, "chara_card_v3" if fmt == "v3" else "chara_card_v2")
        char_id = f"s{number}"
        ids.append(char_id)
        if fmt == "home":  # placed in the home by hand, never imported
            _write_card(lw_home.characters, char_id, card, "yaml")
            continue
        path = _write_card(src, char_id, card, "png" if fmt == "png" else fmt)
        imports.append((["characters", "import", str(path), "--as", char_id], _env(lw_home)))
    imported = run_batch(imports, memory=BATCH_MEMORY)
    counts = _count("surrogates/import", imported)
    assert counts["ok"] == len(imports)  # repaired (one warning line), never refused
    assert all("U+FFFD" in outcome.stderr for outcome in imported)

    uses: list[tuple[list[str], dict[str, str]]] = []
    for number, char_id in enumerate(ids):
        uses.append((["characters", "show", char_id], _env(lw_home)))
        for fmt in ("v2", "v3", "png", "charx", "yaml"):
            target = out / f"{char_id}.{fmt}"
            uses.append(
                (["characters", "export", char_id, "-f", fmt, "-o", str(target)], _env(lw_home))
            )
        if number % 6 == 0:  # a model load each: every place, and every format, at least once
            uses.append((["prompt", char_id, "--say", "hi \udcff"], _env(lw_home)))
    used = run_batch(uses, timeout=240, memory=BATCH_MEMORY)
    counts = _count("surrogates/export+prompt", used)
    assert counts["ok"] == len(uses)
    for exported in out.iterdir():
        if exported.suffix in (".v2", ".v3", ".yaml"):
            text = exported.read_bytes().decode("utf-8")  # strict: no surrogate reached a file
            assert "\\ud8" not in text.lower() and "\\udc" not in text.lower()

    again = [
        (["characters", "import", str(path), "--as", f"r{n}"], _env(lw_home))
        for n, path in enumerate(sorted(out.iterdir()))
    ]
    _count("surrogates/re-import", run_batch(again, memory=BATCH_MEMORY))


def _jsonl(field: str, text: str) -> str:
    header: dict[str, Any] = {"user_name": "You", "character_name": "Brenna"}
    line: dict[str, Any] = {"name": "Brenna", "is_user": False, "mes": "Hello"}
    if field == "chat_metadata":
        header["chat_metadata"] = {"note": text, text: [text]}
    elif field == "extra":
        line["extra"] = {"x": text, "nested": {text: text}}
    elif field == "swipes":
        line["swipes"] = ["Hello", f"alt {text}"]
        line["swipe_info"] = [{}, {"extra": {"y": text}}]
    elif field == "name":
        line["name"] = f"B{text}"
    else:
        line["mes"] = f"Hello {text}"
    user = {"name": "You", "is_user": True, "mes": f"me {text}" if field == "mes" else "me"}
    return "\n".join(json.dumps(value) for value in (header, line, user)) + "\n"


def test_surrogates_in_sillytavern_chats(lw_home: Home, tmp_path: Path) -> None:
    files = []
    for number, (field, text) in enumerate(
        itertools.product(("mes", "extra", "chat_metadata", "swipes", "name"), SURROGATES)
    ):
        path = tmp_path / f"chat{number}.jsonl"
        path.write_text(_jsonl(field, text), encoding="ascii")
        files.append(path)
    env = _env(lw_home)
    imported = run_batch(
        [(["chats", "import", str(p), "--character", "brenna"], env) for p in files]
    )
    counts = _count("surrogates/chats-import", imported)
    assert counts["ok"] == len(files)
    ids = [o.stdout.split("imported chat ")[1].split()[0] for o in imported]
    uses = []
    for number, chat_id in enumerate(ids):
        uses.append((["chats", "show", chat_id, "--json"], env))
        uses.append(
            (["chats", "export", chat_id, "-o", str(tmp_path / f"out{chat_id}.jsonl")], env)
        )
        if number % 4 == 0:  # one per field (a model load each)
            uses.append((["prompt", "brenna", "--chat", chat_id], env))
    _count("surrogates/chats-use", run_batch(uses, timeout=240, memory=BATCH_MEMORY))
    for exported in tmp_path.glob("out*.jsonl"):
        exported.read_bytes().decode("utf-8")


# -- non-finite numbers ----------------------------------------------------------------------

YAML_NON_FINITE = (".inf", "-.inf", ".nan", ".NaN", "1.0e+999", "-1.0e+999")


def _non_finite_sheets(value: str) -> dict[str, str]:
    return {
        "state default": f"name: N\nstate:\n  - name: hp\n    type: float\n    default: {value}\n",
        "extension": f"name: N\nextensions:\n  x: {value}\n",
        "unknown field": f"name: N\nfoo: [1, {{a: {value}}}]\n",
        "lore entry": (
            "name: N\ncharacter_book:\n  entries:\n"
            f"    - keys: [k]\n      extensions: {{w: {value}}}\n"
        ),
        "relationship extra": f"name: N\nrelationships:\n  - name: Tam\n    weight: {value}\n",
    }


def test_non_finite_numbers_are_refused_at_the_sheet(lw_home: Home, tmp_path: Path) -> None:
    env = _env(lw_home)
    cases: list[tuple[list[str], dict[str, str]]] = []
    placed: list[str] = []
    for number, value in enumerate(YAML_NON_FINITE):
        for place, text in _non_finite_sheets(value).items():
            path = tmp_path / f"n{number}_{place.replace(' ', '_')}.yaml"
            path.write_text(text, encoding="utf-8")
            home_id = f"h{len(placed)}"
            (lw_home.characters / f"{home_id}.yaml").write_text(text, encoding="utf-8")
            placed.append(home_id)
            cases.append((["characters", "show", str(path)], env))
            cases.append((["characters", "import", str(path), "--as", f"i{len(placed)}"], env))
            cases.append(
                (
                    [
                        "characters",
                        "export",
                        home_id,
                        "-f",
                        "v2",
                        "-o",
                        str(tmp_path / f"{home_id}.json"),
                    ],
                    env,
                )
            )
            cases.append(
                (
                    [
                        "characters",
                        "export",
                        home_id,
                        "-f",
                        "png",
                        "-o",
                        str(tmp_path / f"{home_id}.png"),
                    ],
                    env,
                )
            )
    for number, value in enumerate(("1e999", "-1e999", "NaN", "Infinity", "-Infinity")):
        body = json.dumps(_card({"extensions": {"x": 0}}, "chara_card_v2")).replace(
            '"x": 0', f'"x": {value}'
        )
        path = tmp_path / f"card{number}.json"
        path.write_text(body, encoding="utf-8")
        cases.append((["characters", "import", str(path)], env))
    before = tree_digest(lw_home.root)
    outcomes = run_batch(cases, timeout=120, memory=BATCH_MEMORY)
    counts = _count("non-finite", outcomes)
    assert counts["error"] == len(cases)  # every one refused, with one line
    assert all(
        "finite" in o.error_lines[0]
        or "out of range" in o.error_lines[0]
        or "not a JSON value" in o.error_lines[0]
        for o in outcomes
    ), outcomes[0].stderr
    assert tree_digest(lw_home.root) == before
    assert not list(tmp_path.glob("h*.json")) and not list(tmp_path.glob("h*.png"))
    listing = run_batch([(["characters", "list"], env)])
    _count("non-finite/list", listing)


# -- CHARX layouts ---------------------------------------------------------------------------


def _charx(names: list[str]) -> bytes:
    card = _card(
        {
            "assets": [
                {"type": "icon", "uri": f"embeded://{n}", "name": "x", "ext": "png"}
                for n in names
                if not n.endswith("/")
            ][:50]
        },
        "chara_card_v3",
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate names we want
        archive.writestr("card.json", json.dumps(card))
        for name in names:
            archive.writestr(name, b"" if name.endswith("/") else b"data " + name.encode()[:50])
    return buffer.getvalue()


def _layouts() -> dict[str, list[str]]:
    layouts: dict[str, list[str]] = {
        "file then dir": ["assets/x", "assets/x/y"],
        "dir then file": ["assets/x/y", "assets/x"],
        "dir entry and file": ["assets/x/", "assets/x"],
        "deep file and parent": ["assets/a/b/c/d", "assets/a/b"],
        "case twins": ["assets/A.png", "assets/a.png"],
        "duplicate": ["assets/x.png", "assets/x.png"],
        "fine": ["assets/icon/main.png", "assets/other/b.png"],
    }
    for size in (200, 255, 256, 300, 1000):
        layouts[f"ascii segment {size}"] = [f"assets/{'n' * size}"]
        layouts[f"2-byte segment {size}"] = [f"assets/{'é' * (size // 2)}"]
    for segments in (8, 9, 20):
        layouts[f"{segments}×120 path"] = ["assets/" + "/".join(["p" * 120] * segments)]
    for depth in (10, 31, 33, 100, 400):
        layouts[f"depth {depth}"] = ["assets/" + "/".join(["d"] * depth) + "/f"]
    layouts["500 members"] = [f"assets/m{n}.bin" for n in range(500)]
    return layouts


def test_charx_layouts_never_half_import(lw_home: Home, tmp_path: Path) -> None:
    env = _env(lw_home)
    cases = []
    for number, (label, names) in enumerate(_layouts().items()):
        path = tmp_path / f"layout{number}.charx"
        path.write_bytes(_charx(names))
        cases.append((label, path, f"c{number}"))
    before = tree_digest(lw_home.root)
    outcomes = run_batch(
        [(["characters", "import", str(path), "--as", cid], env) for _, path, cid in cases],
        timeout=120,
        memory=BATCH_MEMORY,
    )
    _count("charx-layouts", outcomes)
    after = tree_digest(lw_home.root)
    for (label, _, cid), outcome in zip(cases, outcomes, strict=True):
        mine = {k: v for k, v in after.items() if k.startswith(f"characters/{cid}.")}
        if outcome.verdict() == "error":
            assert not mine, f"{label}: a failed import left {sorted(mine)[:3]}"
        else:
            assert f"characters/{cid}.yaml" in mine, label
    assert not [k for k in after if ".staging-" in k]
    assert {k: v for k, v in after.items() if k in before} == before
    verdicts = {label: o.verdict() for (label, _, _), o in zip(cases, outcomes, strict=True)}
    for refused in (
        "file then dir",
        "dir then file",
        "dir entry and file",
        "case twins",
        "duplicate",
        "ascii segment 256",
        "2-byte segment 300",
        "depth 33",
        "9×120 path",
    ):
        assert verdicts[refused] == "error", refused
    assert verdicts["fine"] == verdicts["ascii segment 255"] == verdicts["500 members"] == "ok"


def test_a_write_that_fails_mid_import_leaves_the_library_as_it_was(
    lw_home: Home, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the layout check (switched off here), the staging folder is what keeps it clean."""
    from app.sheets import transfer
    from app.sheets.cards import charx

    monkeypatch.setattr(charx, "layout_problem", lambda names: None)
    for number, names in enumerate(
        (["assets/x", "assets/x/y"], ["assets/x/y", "assets/x"], [f"assets/{'n' * 300}"])
    ):
        path = tmp_path / f"bad{number}.charx"
        path.write_bytes(_charx(names))
        before = tree_digest(lw_home.root)
        with pytest.raises(LoreweaverError, match="cannot import"):
            transfer.import_file(lw_home, path, as_id=f"bad{number}")
        assert tree_digest(lw_home.root) == before


# -- YAML bombs and deep nesting, on every read path -----------------------------------------


def _alias_bomb(levels: int, width: int) -> str:
    lines = ["name: Bomb", "extensions:", "  a0: &a0 [" + ", ".join(['"lol"'] * width) + "]"]
    for level in range(1, levels):
        lines.append(f"  a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def _deep(depth: int, style: str) -> str:
    if style == "flow list":
        return "name: Deep\nextensions:\n  x: " + "[" * depth + "]" * depth + "\n"
    if style == "flow map":
        return "name: Deep\nextensions:\n  x: " + "{a: " * depth + "1" + "}" * depth + "\n"
    lines = ["name: Deep", "extensions:"]
    lines += [" " * (2 * (level + 1)) + "a:" for level in range(depth)]
    return "\n".join(lines) + " 1\n"


def _yaml_cases() -> dict[str, str]:
    cases = {
        f"alias bomb {lv}×{w}": _alias_bomb(lv, w) for lv, w in ((4, 10), (6, 8), (9, 9), (12, 5))
    }
    cases["recursive alias"] = "name: R\nextensions: &a\n  self: *a\n"
    for depth in (63, 65, 200, 2000, 10_000):
        for style in ("flow list", "flow map"):
            cases[f"{style} {depth}"] = _deep(depth, style)
    for depth in (65, 300):
        cases[f"block map {depth}"] = _deep(depth, "block")
    return cases


def _as_lorebook(text: str) -> str:
    """The same hostile YAML as a world lorebook file."""
    return (
        text.replace("name: Bomb", "name: World")
        .replace("name: Deep", "name: World")
        .replace("name: R", "name: World")
        + "entries: []\n"
    )


def test_yaml_bombs_and_deep_nesting_on_every_read_path(lw_home: Home, tmp_path: Path) -> None:
    env = _env(lw_home)
    runs: list[tuple[str, tuple[list[str], dict[str, str]]]] = []
    for number, (label, text) in enumerate(_yaml_cases().items()):
        path = tmp_path / f"y{number}.yaml"
        path.write_text(text, encoding="utf-8")
        (lw_home.characters / f"y{number}.yaml").write_text(text, encoding="utf-8")
        (lw_home.lorebooks / f"w{number}.yaml").write_text(_as_lorebook(text), encoding="utf-8")
        (lw_home.characters / f"u{number}.yaml").write_text(
            f"name: User of world {number}\nworld: [w{number}]\n", encoding="utf-8"
        )
        runs += [
            (label, (["characters", "show", str(path)], env)),
            (label, (["characters", "validate", str(path)], env)),
            (label, (["characters", "import", str(path), "--as", f"imp{number}"], env)),
            (label, (["characters", "show", f"y{number}"], env)),
            (label, (["prompt", f"y{number}"], env)),
        ]
        if number % 4 == 2:  # a world lorebook is read after the model loads: a few suffice
            runs.append((label, (["prompt", f"u{number}"], env)))
    runs.append(("list", (["characters", "list"], env)))
    outcomes = run_batch([case for _, case in runs], timeout=300, memory=BATCH_MEMORY)
    _count("yaml-bombs", outcomes)
    for (label, _), outcome in zip(runs, outcomes, strict=True):
        if label.startswith(
            (
                "alias bomb 9",
                "alias bomb 12",
                "recursive",
                "flow list 2000",
                "flow map 10000",
                "block map 300",
                "flow list 65",
            )
        ):
            assert outcome.verdict() == "error", f"{label}: {outcome.describe()}"
