"""Strict readers of the dialogue exports: what each must say (from the graph), Ink play-through
expectations, and readers for Yarn, Ren'Py, Godot Dialogue Manager and (over extwee) Twee."""

from __future__ import annotations

import itertools
from typing import Any

# -- what every script export must say, and strict readers for the formats without a parser ----

Said = tuple[str, tuple[str, ...], str]
"""(speaker, variant texts, line id) as a reader recovers them."""
Offered = tuple[str, str]
"""(option text, target block)."""
Read = list[tuple[str, list[Said], list[Offered]]]


def expected(dialogue: Any, *, speaker: Any = None, drop: str = "") -> Read:
    """The blocks of a dialogue as plain one-line text (less the characters in `drop`, which a
    format removes): what a reader must recover, no more."""
    from app.export.graph import one_line as flat
    from app.export.script import blocks

    def one_line(text: str) -> str:
        return flat(text).translate(dict.fromkeys(map(ord, drop)))

    name = speaker or one_line
    return [
        (
            block.name,
            [(name(ln.speaker), tuple(one_line(v.text) for v in ln.variants), ln.id)
             for ln in block.lines],
            [(one_line(option.text), option.target) for option in block.options],
        )
        for block in blocks(dialogue)
    ]  # fmt: skip


def _unescape_backslashes(text: str, special: str) -> str:
    """Undo backslash escapes; an unescaped special character means markup got through."""
    out, index = [], 0
    while index < len(text):
        char = text[index]
        if char == "\\":
            assert index + 1 < len(text), f"dangling backslash in {text!r}"
            out.append(text[index + 1])
            index += 2
            continue
        assert char not in special, f"unescaped {char!r} in {text!r}"
        out.append(char)
        index += 1
    return "".join(out)


def read_yarn(source: str) -> Read:
    """Yarn Spinner's structure, read strictly: nodes, `Name: text #line:id` lines, `=>` groups
    (ids `X`, `X_1`, …), `->` options each followed by one `<<jump>>` to an existing node or by
    none (the dialogue ends there). A colon is escaped too: Yarn Spinner 3 reads the text before
    the first unescaped one as the speaker's name."""
    import re

    special = "\\{}<>[]#/:"
    tagged = re.compile(
        r"^(?P<body>.*?) #line:(?P<id>\w+)(?: #emotion:[\w.-]+)?(?: #action:[\w.-]+)?$"
    )
    nodes: Read = []
    rows = iter(source.split("\n"))
    for row in rows:
        if row == "":
            assert next(rows, None) is None, "only the file's end may be empty"
            break
        assert row.startswith("title: "), row
        title = row[7:]
        assert next(rows) == "---"
        said: list[Said] = []
        offered: list[Offered] = []
        in_group = False
        for row in rows:
            if row == "===":
                break
            if row == "<<wait 0>>":  # separates two line groups
                in_group = False
                continue
            if row.startswith("-> "):
                match = tagged.match(row[3:])
                text = match.group("body") if match else row[3:]
                offered.append((_unescape_backslashes(text, special), ""))
                continue
            jump = re.fullmatch(r"    <<jump (\w+)>>", row)
            if jump:  # under an option; an option with none ends the dialogue
                assert offered and offered[-1][1] == "", row
                offered[-1] = (offered[-1][0], jump.group(1))
                continue
            assert not offered, f"a line after the options: {row}"
            group = row.startswith("=> ")
            match = tagged.match(row[3:] if group else row)
            assert match, row
            speaker, colon, text = match.group("body").partition(": ")
            assert colon and re.fullmatch(r"\w+", speaker), row
            text = _unescape_backslashes(text, special)
            if group and in_group:
                who, texts, ident = said[-1]
                assert match.group("id") == f"{ident}_{len(texts)}", row
                said[-1] = (who, (*texts, text), ident)
            else:
                said.append((speaker, (text,), match.group("id")))
            in_group = group
        nodes.append((title, said, offered))
    titles = {name for name, _, _ in nodes}
    assert all(target in titles for _, _, opts in nodes for _, target in opts if target)
    return nodes


def without_ended(read: Read) -> Read:
    """What a format that writes no empty blocks must say: an option leading to an empty block
    has no target (its dialogue ends there) and the empty block is not written."""
    ended = {name for name, said, offered in read[1:] if not said and not offered}
    return [
        (name, said, [(text, "" if target in ended else target) for text, target in offered])
        for name, said, offered in read
        if name not in ended
    ]


def read_renpy(source: str) -> Read:
    """Ren'Py's structure, read strictly: `define`s, labels, say statements whose string is a
    Python literal (Ren'Py's string syntax) with `[[`/`{{` undoubled, random-swipe `if` chains,
    `menu:` entries each jumping to an existing label, `return`."""
    import ast
    import re

    def literal(quoted: str) -> str:
        text = ast.literal_eval(quoted)
        assert isinstance(text, str)
        assert "[" not in text.replace("[[", "") and "{" not in text.replace("{{", ""), text
        return text.replace("[[", "[").replace("{{", "{")

    string = r'("(?:[^"\\]|\\.)*")'
    say = re.compile(rf"^(?:    |        )(c_\w+) {string}  # id (\w+)(?:; .*)?$")
    option = re.compile(rf"^        {string}:(?:  # id \w+)?$")
    speakers: dict[str, str] = {}
    labels: Read = []
    lines = source.split("\n")
    assert lines[-1] == ""
    for row in lines[:-1]:
        if match := re.fullmatch(rf"define (c_\w+) = Character\({string}\)", row):
            speakers[match.group(1)] = literal(match.group(2))
        elif match := re.fullmatch(r"label (\w+):", row):
            name = "Start" if match.group(1) == "start" else match.group(1)
            labels.append((name, [], []))
        elif match := say.match(row):
            said = labels[-1][1]
            who, text, ident = speakers[match.group(1)], literal(match.group(2)), match.group(3)
            if row.startswith("        ") and said and ident.startswith(said[-1][2] + "_"):
                said[-1] = (who, (*said[-1][1], text), said[-1][2])
            else:
                said.append((who, (text,), ident))
        elif match := option.match(row):
            labels[-1][2].append((literal(match.group(1)), ""))
        elif match := re.fullmatch(r"            jump (\w+)", row):
            text, _ = labels[-1][2][-1]
            labels[-1][2][-1] = (text, match.group(1))
        else:
            assert re.fullmatch(
                r"|    return|    menu:|    \$ swipe_pick = renpy\.random\.randint\(0, \d+\)"
                r"|    (?:el)?if swipe_pick == \d+:",
                row,
            ), row
    names = {name for name, _, _ in labels}
    assert all(target in names for _, _, opts in labels for _, target in opts)
    return labels


def read_godot(source: str) -> Read:
    """Godot Dialogue Manager's structure, read strictly: `~ title`s, `Name: text [ID:x]` lines,
    `%` random lines, `- option [ID:x] => target`, `=> END`. Text may hold no BBCode but `[lb]`
    and `[rb]`, no `{{`, no `=>`, no colon but `\\:` and no backslash but before a joiner or a
    colon; a speaker starting with one of DM's keywords carries its backslash escape."""
    import re

    joiner = "\u2060"

    def plain(text: str) -> str:
        bare = text.replace("[lb]", "").replace("[rb]", "")
        assert "[" not in bare and "]" not in bare, text
        assert "{{" not in text and "}}" not in text and "=>" not in text, text
        out = re.sub(r"\[lb\]|\[rb\]", lambda m: "[" if m.group() == "[lb]" else "]", text)
        assert re.fullmatch(rf"(?:[^\\:]|\\{joiner}|\\:)*", out, re.S), (
            f"unescaped \\ or : in {text!r}"
        )
        return out.replace("\\:", ":").replace(joiner, "")

    tags = r"(?: \[#emotion=[\w.-]+(?:, #action=[\w.-]+)?\]| \[#action=[\w.-]+\])?"
    line = re.compile(rf"^(%? ?)\\?(\w+): (.*?){tags} \[ID:(\w+)\]$")
    option = re.compile(r"^- (.*?)(?: \[ID:\w+\])? => (\w+)$")
    titles: Read = []
    in_group = False
    for row in source.split("\n"):
        if row.startswith("~ "):
            titles.append((row[2:], [], []))
            in_group = False
        elif match := option.match(row):
            titles[-1][2].append((plain(match.group(1)), match.group(2)))
        elif match := line.match(row):
            said = titles[-1][1]
            text, ident = plain(match.group(3)), match.group(4)
            group = match.group(1) == "% "
            if group and in_group:
                said[-1] = (match.group(2), (*said[-1][1], text), said[-1][2])
            else:
                said.append((match.group(2), (text,), ident))
            in_group = group
        else:
            assert row in ("", "=> END"), row
            in_group = False
    names = {name for name, _, _ in titles}
    assert all(target in names for _, _, opts in titles for _, target in opts)
    return titles


def ink_transcripts(dialogue: Any) -> list[list[tuple[str, Any, str]]]:
    """Every play-through an Ink export must allow: ("say", {texts it may print}, id) and
    ("choose", option text, "") steps, one list per path to an end."""
    from app.export.graph import one_line
    from app.export.script import START, blocks

    by_name = {block.name: block for block in blocks(dialogue)}
    paths: list[list[tuple[str, Any, str]]] = []
    pending: list[tuple[str, list[tuple[str, Any, str]]]] = [(START, [])]
    while pending:
        name, steps = pending.pop()  # depth first, first choice first: inkjs's order
        block = by_name[name]
        steps = steps + [
            ("say", {f"{one_line(ln.speaker)}: {one_line(v.text)}" for v in ln.variants}, ln.id)
            for ln in block.lines
        ]
        if not block.options:
            paths.append(steps)
        for option in reversed(block.options):
            ident = option.line.id if option.line is not None else ""
            pending.append((option.target, [*steps, ("choose", one_line(option.text), ident)]))
    return paths


def played(result: dict[str, Any]) -> list[list[tuple[str, Any, str]]]:
    """inkjs play-throughs in the shape of `ink_transcripts` (texts as one-element sets)."""

    def step(item: dict[str, Any]) -> tuple[str, Any, str]:
        ident = next((t[3:] for t in item["tags"] if t.startswith("id:")), "")
        if "choice" in item:
            return ("choose", item["choice"], ident)
        return ("say", item["text"], ident)

    return [[step(item) for item in path] for path in result["paths"]]


def ink_difference(expected_paths: list[Any], actual: list[Any]) -> str:
    """The first way inkjs's play-throughs differ from the expected ones ("" when they agree):
    same paths in the same order, each printed line one of its allowed variants."""
    if len(expected_paths) != len(actual):
        return f"{len(actual)} paths played, {len(expected_paths)} expected"
    for number, (want, got) in enumerate(zip(expected_paths, actual, strict=True)):
        for want_step, got_step in itertools.zip_longest(want, got):
            if want_step is None or got_step is None:
                return f"path {number}: extra step {want_step or got_step}"
            kind, allowed, ident = want_step
            ok = got_step[1] in allowed if kind == "say" else got_step[1] == allowed
            if (kind, ident) != (got_step[0], got_step[2]) or not ok:
                return f"path {number}: played {got_step}, expected {want_step}"
    return ""


TWINE_LINK = r"\[\[(.*?)\]\]"


def read_twee(story: dict[str, Any]) -> Read:
    """extwee's passages as the shared structure: `Name: text /* id */` lines (`<<print
    either(…)>>` for swipes), HTML references decoded, and `[[text->Target]]` links (Twine's link
    syntax)."""
    import html
    import re

    passages: Read = []
    for passage in story["passages"]:
        if passage["name"] in ("StoryTitle", "StoryData"):
            continue
        said: list[Said] = []
        offered: list[Offered] = []
        for row in filter(None, passage["text"].split("\n")):
            links = re.findall(TWINE_LINK, row)
            if links:
                assert len(links) == 1 and row == f"[[{links[0]}]]", row
                text, arrow, target = links[0].rpartition("->")
                assert arrow and "->" not in text and "|" not in text, row
                offered.append((html.unescape(text), target))
                continue
            marked = re.fullmatch(r"(.*) /\* (\w+) \*/", row)
            assert marked is not None, row
            row, ident = marked.groups()
            who, _, body = row.partition(": ")
            either = re.fullmatch(r'<<print either\(((?:"[^"]*",?)+)\)>>', body)
            raw = re.findall(r'"([^"]*)"', either.group(1)) if either else [body]
            for text in (who, *raw):
                assert not re.search(r"[\[\]{}$_<>|\"'\\/*=~:@-]", text), row
            texts = tuple(html.unescape(t) for t in raw)
            said.append((html.unescape(who), texts, ident))
        passages.append((passage["name"], said, offered))
    names = {name for name, _, _ in passages}
    assert all(target in names for _, _, opts in passages for _, target in opts)
    return passages
