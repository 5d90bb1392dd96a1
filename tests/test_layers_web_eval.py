"""Evaluation, the service under every door and the doors are clients of the public API: no module of
assistant/evaluation/, assistant/service/ or assistant/web/ imports the storage layer (assistant.store.*). Read from the source with ``ast``, so an
import inside a function counts too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "assistant"
CLIENT_LAYERS = ("evaluation", "web", "service")
BANNED = "assistant.store"


def imported_modules(path: Path, root: Path = PACKAGE.parent) -> list[tuple[int, str]]:
    """(line, module) of every import in a file below ``root``: ``import a.b`` → a.b; ``from a.b import c``
    → a.b and a.b.c (c may be a module); relative imports resolved against the file's package."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = ".".join(path.relative_to(root).parts[:-1])
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "__import__" and node.args:
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.append((node.lineno, arg.value))
    return found


def is_storage(module: str) -> bool:
    return module == BANNED or module.startswith(BANNED + ".")


def client_files() -> list[Path]:
    return sorted(p for layer in CLIENT_LAYERS for p in (PACKAGE / layer).rglob("*.py"))


def test_the_client_layers_exist() -> None:
    assert {p.parent.name for p in client_files()} == set(CLIENT_LAYERS)


@pytest.mark.parametrize("path", client_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_evaluation_and_web_import_no_storage_module(path: Path) -> None:
    bad = [f"{path.relative_to(PACKAGE.parent)}:{line}: {module}" for line, module in imported_modules(path)
           if is_storage(module)]
    assert not bad, "evaluation and web go through assistant.Assistant, not the storage layer:\n" + "\n".join(bad)


def test_the_reader_sees_every_form_of_import(tmp_path: Path) -> None:
    """The check catches each way of writing the import (a probe file placed as if in the web layer)."""
    web = tmp_path / "assistant" / "web"
    web.mkdir(parents=True)
    probe = web / "probe.py"
    probe.write_text("import assistant.store.catalog\nfrom assistant.store import index\nfrom ..store.vectors import X\n"
                     "from .. import store\nimport assistant.text.reading\n"
                     "def g():\n    from assistant.store.catalog import Catalog\n", encoding="utf-8")
    hits = {m for _, m in imported_modules(probe, tmp_path) if is_storage(m)}
    assert hits == {"assistant.store.catalog", "assistant.store", "assistant.store.index", "assistant.store.vectors",
                    "assistant.store.vectors.X", "assistant.store.catalog.Catalog"}
