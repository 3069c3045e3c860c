"""The domain never imports a front end: everything in `app` except the front ends (the TUI, the
CLI, the benchmarks) must import without `textual`, `rich`, `app.tui`, `app.cli` or `app.bench`.

Modules are found on disk, so a new module is covered without touching this test. Each module is
imported in a process of its own (one subprocess forks a child per module), so one module's imports
cannot hide another's; a static pass also catches imports deferred into function bodies.
"""

from __future__ import annotations

import ast
import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest
from support import REPO

FRONT_ENDS = ("app.tui", "app.cli", "app.bench", "app.__main__")
FORBIDDEN = ("textual", "rich", "app.tui", "app.cli", "app.bench")
# Heavy third-party libraries the domain uses, imported once before forking to save each child
# the cost; the driver first checks they pull in nothing forbidden themselves.
PRELOAD = ("pydantic", "yaml", "jinja2", "llama_cpp", "platformdirs", "re2")

_DRIVER = r"""
import importlib, json, os, sys

forbidden, preload, modules = json.loads(sys.argv[1])

def bad():
    # the forbidden modules loaded, shortened to rich, textual, app.tui and so on
    names = [n for n in sys.modules if any(n == f or n.startswith(f + ".") for f in forbidden)]
    return sorted({".".join(n.split(".")[: 2 if n.startswith("app.") else 1]) for n in names})

for lib in preload:
    try:
        importlib.import_module(lib)
    except ImportError:
        pass
found = {"(preloaded libraries)": bad()} if bad() else {}
for name in [] if found else modules:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            importlib.import_module(name)
            answer = bad()
        except BaseException as exc:
            answer = [f"import failed: {type(exc).__name__}: {exc}"]
        with os.fdopen(write, "w") as out:
            json.dump(answer, out)
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as answer_in:
        answer = json.loads(answer_in.read() or '["child died"]')
    os.waitpid(pid, 0)
    if answer:
        found[name] = answer
print(json.dumps(found))
"""


def _is_forbidden(name: str) -> bool:
    return any(name == f or name.startswith(f + ".") for f in FORBIDDEN)


def _modules(path: Path, prefix: str) -> list[tuple[str, Path]]:
    """Every module under `path` with its source file, found without importing anything."""
    found = []
    for info in pkgutil.iter_modules([str(path)]):
        name = f"{prefix}.{info.name}"
        if name.startswith(FRONT_ENDS):
            continue
        if info.ispkg:
            found.append((name, path / info.name / "__init__.py"))
            found += _modules(path / info.name, name)
        else:
            found.append((name, path / f"{info.name}.py"))
    return found


DOMAIN = [("app", REPO / "app" / "__init__.py"), *_modules(REPO / "app", "app")]


def test_the_domain_is_found() -> None:
    names = {name for name, _ in DOMAIN}
    for expected in ("app.session", "app.reply", "app.memory.store.chat_store", "app.engine.base"):
        assert expected in names
    assert not any(name.startswith(FRONT_ENDS) for name in names)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the driver forks one child per module")
def test_no_domain_module_imports_a_front_end() -> None:
    argument = json.dumps([FORBIDDEN, PRELOAD, [name for name, _ in DOMAIN]])
    result = subprocess.run(
        [sys.executable, "-c", _DRIVER, argument],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.splitlines()[-1])
    assert found == {}, "\n".join(f"{name} loads {', '.join(bad)}" for name, bad in found.items())


def _imports(tree: ast.Module, module: str, is_package: bool) -> list[tuple[int, str]]:
    """Every module named by an import statement anywhere in `tree`, function bodies included."""
    package = module if is_package else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
            found.append((node.lineno, base))
    return found


def test_no_deferred_import_of_a_front_end() -> None:
    """An import inside a function runs only when called, so the subprocess check cannot see it."""
    offences = []
    for module, source in DOMAIN:
        tree = ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
        for line, name in _imports(tree, module, source.name == "__init__.py"):
            if _is_forbidden(name):
                offences.append(f"{source.relative_to(REPO)}:{line} imports {name}")
    assert offences == [], "\n".join(offences)
