"""Hostile chat templates in GGUF files: filters × sizes, loops, recursion, repetition, memory
and attribute escapes, each in a file's `tokenizer.chat_template`, run through the real CLI
under time and memory limits. Whatever a template does, the CLI finishes: the template renders,
or the detected family takes over with a one-line note — never a hang, crash or traceback."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from hostile.gguf_files import tiny, with_template
from hostile.harness import assert_clean_failure, run_limited

from app.models import bundled_model_path

CHATML = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
TEXT = "('ab cd www.x.io ' * {n})"
FILTERS = {
    "wordwrap": TEXT + " | wordwrap(3)",
    "urlize": TEXT + " | urlize",
    "center": "'x' | center({n})",
    "indent": TEXT + " | indent(8)",
    "title": TEXT + " | title",
    "replace": TEXT + " | replace(' ', '  ')",
    "sort": "range({n}) | list | sort(reverse=true)",
    "map": "range({n}) | map('string') | join(',')",
    "unique": "range({n}) | map('string') | unique | list",
    "striptags": "('<a>' * {n}) | striptags",
}
SIZES = (10, 2_000_000)
REPEATS = (1, 100_000)
PAYLOADS: dict[str, list[str]] = {
    "filters": [
        f"{{% for i in range({r}) %}}{{{{ ({FILTERS[f].format(n=n)}) | length }}}}{{% endfor %}}"
        for f in FILTERS
        for n in SIZES
        for r in REPEATS
        if n > 10 or r == 1
    ],
    "loops": [
        "{% for i in range(N) %}{% for j in range(N) %}{% endfor %}{% endfor %}".replace("N", n)
        for n in ("10", "100000")
    ]
    + ["{% set s = 'x' * 100000 %}{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}"],
    "recursion": [
        "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
        "{% macro f(n) %}{% if n < 40 %}{{ f(n + 1) }}{{ f(n + 1) }}{% endif %}{% endmacro %}"
        "{{ f(0) }}",
        "{% macro f() %}{{ caller() }}{% endmacro %}"
        + "{% call f() %}" * 60
        + "x"
        + "{% endcall %}" * 60,
    ],
    "repetition": [f"{{{{ 'x' * 10**{k} }}}}" for k in (3, 7, 9, 12)]
    + [f"{{{{ ([1] * 10**{k}) | length }}}}" for k in (5, 9)]
    + ["{{ 2 ** 10**8 }}", "{{ '%0999999999d' % 1 }}", "{{ '{:>999999999}'.format(1) }}"],
    "memory": [
        "{% set ns = namespace(l=[]) %}{% for i in range(N) %}"
        "{% set ns.l = ns.l + [range(100000) | list] %}{% endfor %}{{ ns.l | length }}".replace(
            "N", n
        )
        for n in ("2", "100000")
    ]
    + ["{{ (range(100000) | list | string) * 20 }}"],
    "escapes": [
        "{{ messages.__class__.__mro__ }}",
        "{{ (messages | attr('__class__')).__base__.__subclasses__() }}",
        "{{ cycler.__init__.__globals__.os.system('true') }}",
        "{{ self.__init__.__globals__ }}",
        "{{ namespace.__init__.__globals__ }}",
        "{{ messages[0]['__class__'] }}",
        "{{ '{0.__class__}'.format(messages) }}",
        "{{ messages.append(1) }}",
        "{% include '/etc/passwd' %}",
        "{{ raise_exception('no') }}",
        "{% for %}",
    ],
}
BATCH = 12


def _run_batch(tmp_path: Path, batch: list[tuple[str, str]]) -> list[tuple[str, str]]:
    args: list[str] = []
    for i, (_, payload) in enumerate(batch):
        path = tmp_path / f"case{i}.gguf"
        path.write_bytes(tiny(CHATML + payload, name=f"case{i}"))
        args += ["--model", str(path)]
    outcome = run_limited("models", "--json", *args, timeout=600)
    assert outcome.verdict() == "ok", outcome.describe()
    rows = {Path(row["path"]).name: row for row in json.loads(outcome.stdout)}
    results = []
    for i, (klass, payload) in enumerate(batch):
        row = rows[f"case{i}.gguf"]
        assert row["usable"], row
        note = row["format_note"]
        assert note is None or ("\n" not in note and "chatml format instead" in note), note
        results.append((klass, "fell back" if note else "rendered"))
        if klass == "escapes":
            assert note, payload  # nothing in that class may render
    return results


def test_hostile_templates_in_gguf_files_never_hang_crash_or_trace(tmp_path: Path) -> None:
    cases = [(klass, payload) for klass, payloads in PAYLOADS.items() for payload in payloads]
    counts: Counter[tuple[str, str]] = Counter()
    for start in range(0, len(cases), BATCH):
        counts.update(_run_batch(tmp_path, cases[start : start + BATCH]))
    print("\ntemplate hostile cases (class, outcome): count")
    for (klass, outcome), n in sorted(counts.items()):
        print(f"  {klass:<11} {outcome:<10} {n}")
    assert sum(counts.values()) == len(cases) >= 50
    assert counts["filters", "fell back"] >= len(FILTERS)  # the big ones were really stopped


def test_a_loadable_file_with_a_hostile_template_chats_in_its_family(tmp_path: Path) -> None:
    """The whole path: the engine loads the file, the prompt is the family's, with a note;
    asking for the file's template by name is one clean error line."""
    model = bundled_model_path()
    assert model is not None
    path = tmp_path / "hostile.gguf"
    path.write_bytes(with_template(model, CHATML + "{{ ('ab ' * 2000000) | wordwrap(2) }}"))
    outcome = run_limited("prompt", "brenna", "--model", str(path), "--say", "Hi", timeout=600)
    assert outcome.verdict() == "ok", outcome.describe()
    assert outcome.stdout.endswith("<|im_start|>assistant\n")
    notes = [line for line in outcome.error_lines if line.startswith("note: ")]
    assert len(notes) == 1 and "using the built-in chatml format instead" in notes[0]
    refused = run_limited(
        "prompt",
        "brenna",
        "--model",
        str(path),
        "--template",
        "gguf",
        "--say",
        "Hi",
        timeout=600,
    )
    assert "chat template was stopped" in assert_clean_failure(refused)
