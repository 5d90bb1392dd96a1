"""The package's layers, read from its source, and imports without side effects.

- The modules import each other without a cycle: every import counts (inside functions too, where a
  cycle would otherwise hide), except those under ``if TYPE_CHECKING:``, which never run.
- Below the facade nothing imports it: only the package's ``__init__.py`` (which re-exports it), the
  command line (``cli/``) and the facade's clients, the web chat (``web/``) and the evaluation
  (``evaluation/``, a client of the public API), may import ``assistant.assistant``, directly or through
  ``from assistant import ...``. Every import counts, inside functions and ``if TYPE_CHECKING:`` too.
- Importing the package, and every module of it, leaves ``os.environ`` as it was: telemetry switches are
  set by the entry points (:func:`assistant.telemetry.quiet_telemetry`), never by an import.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "assistant"
FACADE = "assistant.assistant"
# May import the facade: the package re-export, the command line, and the facade's clients.
FACADE_USERS = ("assistant/__init__.py", "assistant/cli/", "assistant/web/", "assistant/service/", "assistant/evaluation/")


def package_files() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "_data" not in p.parts)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_of(path: Path) -> str:
    """The package a file's relative imports are resolved against."""
    return module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]


def facade_imports(source: str, package: str) -> list[str]:
    """``line: statement`` for every import of the facade in ``source``, a module of ``package``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [f"{node.lineno}: import {a.name}" for a in node.names if a.name == FACADE]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            # "from assistant import ..." reaches it too: the package's __init__ imports the facade
            if base in (FACADE, "assistant"):
                found.append(f"{node.lineno}: from {base} import {', '.join(a.name for a in node.names)}")
    return found


def test_the_reader_finds_every_form_of_facade_import() -> None:
    probe = ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from assistant.assistant import Assistant\n"
             "def f():\n    import assistant.assistant\n    from assistant import Assistant\n"
             "    from .. import assistant\n    from ..assistant import Assistant\n"
             "import assistant.types\nfrom assistant.store import index\n")
    assert len(facade_imports(probe, "assistant.answer")) == 5


@pytest.mark.parametrize("path", package_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_nothing_below_the_facade_imports_it(path: Path) -> None:
    rel = path.relative_to(ROOT).as_posix()
    if rel == "assistant/assistant.py" or rel.startswith(FACADE_USERS):
        return
    bad = facade_imports(path.read_text(encoding="utf-8"), package_of(path))
    assert not bad, (f"{rel} imports the facade (assistant.assistant); only {', '.join(FACADE_USERS)} may: "
                     "pass what the module needs instead\n" + "\n".join(bad))


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node of ``tree`` except what sits under ``if TYPE_CHECKING:``."""
    out: list[ast.AST] = []
    todo = [tree]
    while todo:
        node = todo.pop()
        out.append(node)
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                todo.extend(child.orelse)
                continue
            todo.append(child)
    return out


def import_graph(files: dict[str, str]) -> dict[str, set[str]]:
    """``module -> modules of the package it imports`` for ``files`` (module name -> source). ``from a.b
    import c`` counts as importing ``a.b.c`` when that is a module, else ``a.b``."""
    graph: dict[str, set[str]] = {}
    for name, source in files.items():
        package = name if name.endswith(".__init__") else name.rpartition(".")[0]
        package = package.removesuffix(".__init__")
        targets: set[str] = set()
        for node in _runtime_nodes(ast.parse(source)):
            if isinstance(node, ast.Import):
                targets |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    base = f"{parent}.{base}" if base else parent
                targets |= {f"{base}.{a.name}" if f"{base}.{a.name}" in files or f"{base}.{a.name}.__init__" in files
                            else base for a in node.names}
        found = {t if t in files else f"{t}.__init__" for t in targets}
        graph[name] = {t for t in found if t in files and t != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle of ``graph`` as ``[a, b, ..., a]``, or ``[]`` when there is none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return []

    for start in sorted(graph):
        if start not in state:
            cycle = visit(start)
            if cycle:
                return cycle
    return []


def _module_key(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def test_the_cycle_finder_sees_a_cycle_hidden_in_a_function() -> None:
    files = {"p.__init__": "", "p.a": "from p.b import f\n",
             "p.b": "def f():\n    from p import a\n", "p.c": "from typing import TYPE_CHECKING\n"
             "if TYPE_CHECKING:\n    from p.a import x\nfrom p.b import f\n"}
    assert find_cycle(import_graph(files)) == ["p.a", "p.b", "p.a"]
    files["p.b"] = "def f():\n    pass\n"
    assert find_cycle(import_graph(files)) == []


def test_the_package_has_no_import_cycle() -> None:
    files = {_module_key(p): p.read_text(encoding="utf-8") for p in package_files()}
    cycle = find_cycle(import_graph(files))
    assert not cycle, ("import cycle: " + " -> ".join(cycle) + "; split the module that is both a leaf and a user "
                       "(a function-level import only hides the cycle)")


ENV_PROBE = r"""
import importlib, json, os, pkgutil, sys
before = dict(os.environ)
import assistant
names = sys.argv[1:] or [m.name for m in pkgutil.walk_packages(assistant.__path__, "assistant.")]
for name in names:
    importlib.import_module(name)
after = dict(os.environ)
print(json.dumps({"modules": names, "changed": sorted(k for k in before.keys() | after.keys()
                                                      if before.get(k) != after.get(k))}))
"""


def _env_after_import(*modules: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in _switches()}  # none of the switches set beforehand
    done = subprocess.run([sys.executable, "-c", ENV_PROBE, *modules], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _switches() -> set[str]:
    from assistant.telemetry import TELEMETRY_SWITCHES

    return set(TELEMETRY_SWITCHES)


@pytest.mark.fast
def test_import_assistant_sets_no_environment_variable() -> None:
    assert _env_after_import("assistant")["changed"] == []


@pytest.mark.fast
def test_importing_every_module_of_the_package_sets_no_environment_variable() -> None:
    result = _env_after_import()
    assert {"assistant.cli", "assistant.web.app", "assistant.store.vectors", "assistant.telemetry"} <= set(result["modules"])
    assert result["changed"] == [], f"importing the package changed os.environ: {result['changed']}"


def test_quiet_telemetry_sets_the_switches_and_keeps_explicit_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    from assistant.telemetry import TELEMETRY_SWITCHES, quiet_telemetry

    for key in TELEMETRY_SWITCHES:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "True")  # the user's explicit choice
    quiet_telemetry()
    assert os.environ["GRADIO_ANALYTICS_ENABLED"] == "True"
    assert all(os.environ[k] == v for k, v in TELEMETRY_SWITCHES.items() if k != "GRADIO_ANALYTICS_ENABLED")
