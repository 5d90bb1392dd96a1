"""bench/ and tools/ stay runnable: every script imports as a module of its package (``python -m bench.X``,
``python -m tools.X`` from the repository root), answers ``--help`` through ``main(argv)``, and uses the
shared helper rather than its own copies (data path, sys.path, percentiles, settings copies). In-process;
loads no model."""

from __future__ import annotations

import argparse
import ast
import importlib
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted(f"{p.parent.name}.{p.stem}" for folder in ("bench", "tools") for p in (ROOT / folder).glob("*.py")
                 if p.stem not in ("__init__", "common"))


def test_the_scripts_are_split_by_kind() -> None:
    """tools/ holds the scripts that write files the package ships; everything else measures (bench/)."""
    assert {s for s in SCRIPTS if s.startswith("tools.")} == {
        "tools.calibrate_abstention", "tools.generative_calibrate", "tools.train_embedder_lora",
        "tools.train_span_reader"}
    assert len(SCRIPTS) == 22
    readme = (ROOT / "bench" / "README.md").read_text(encoding="utf-8")
    for script in SCRIPTS:
        assert f"`{script.replace('.', '/')}.py`" in readme, f"bench/README.md does not list {script}"


@pytest.mark.parametrize("module", SCRIPTS)
def test_every_script_answers_help(module: str, capsys: pytest.CaptureFixture[str]) -> None:
    mod = importlib.import_module(module)
    with pytest.raises(SystemExit) as done:
        mod.main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage:") and "--out" in out


@pytest.mark.parametrize("module", SCRIPTS)
def test_no_script_keeps_its_own_copy_of_what_is_shared(module: str) -> None:
    source = (ROOT / (module.replace(".", "/") + ".py")).read_text(encoding="utf-8")
    assert "sys.path" not in source  # run as python -m from the repository root
    assert '"shared"' not in source and "parents[2]" not in source  # bench.common.shared_data finds the data
    assert "model_copy(" not in source  # Settings.replace validates
    assert not re.search(r"def (pct|percentile)\(", source)  # assistant.evaluation.metrics.percentile
    assert not re.search(r"from assistant[.\w]* import .*\b_\w", source)  # no private names of the package
    assert "xquad-dev.en-ar\", \"xquad-dev.en\"" not in source  # the dev-set lists live in bench.common


@pytest.mark.parametrize("module", [*SCRIPTS, "bench.common"])
def test_scripts_import_package_names_from_where_they_live(module: str) -> None:
    """Every name a script imports from the package is public where it is defined: in that module's
    ``__all__`` (not a private name, not a name another module passes on)."""
    tree = ast.parse((ROOT / (module.replace(".", "/") + ".py")).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("assistant"):
            mod = importlib.import_module(node.module)
            public = getattr(mod, "__all__", None)
            for alias in node.names:
                is_module = importlib.util.find_spec(f"{node.module}.{alias.name}") is not None if hasattr(
                    mod, "__path__") else False
                assert is_module or public is None or alias.name in public, \
                    f"{module} imports {alias.name} from {node.module}, which does not list it in __all__"


def test_missing_shared_data_is_a_skip_that_names_the_fix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from bench import sentence_coverage

    with pytest.raises(SystemExit) as done:
        sentence_coverage.main(["--data", str(tmp_path)])
    assert done.value.code == 0
    assert "skipped:" in capsys.readouterr().err


def test_a_result_file_is_stamped_with_the_commit_and_masked_settings(tmp_path: Path) -> None:
    from assistant.settings import Settings
    from bench.common import write_result

    settings = Settings().replace(llm={"api_key": "sk-secret", "base_url": "http://user:pw@example.org/v1"})
    out = tmp_path / "r.json"
    write_result(out, settings, argparse.Namespace(sets=["xquad-dev.ar"], out=out), {"hit@1": 0.5}, quiet=True)
    record = json.loads(out.read_text(encoding="utf-8"))
    assert set(record) == {"commit", "dirty", "settings", "args", "results"}
    assert record["results"] == {"hit@1": 0.5} and record["args"]["sets"] == ["xquad-dev.ar"]
    text = out.read_text(encoding="utf-8")
    assert "sk-secret" not in text and "user:pw" not in text
    assert record["settings"]["llm"]["base_url"] == "http://***@example.org/v1"
    if (ROOT / ".git").exists():
        assert re.fullmatch(r"[0-9a-f]{40}", record["commit"] or "") and isinstance(record["dirty"], bool)


def test_one_index_name_per_set_and_model() -> None:
    from assistant.evaluation.run import default_index_path
    from assistant.settings import Settings
    from bench.common import index_path, pools_path

    settings = Settings()
    assert index_path(settings, "xquad-dev.ar", "acme/m+title") == default_index_path(settings, "xquad-dev.ar",
                                                                                      "acme/m+title")
    assert pools_path("xquad-dev.ar", "acme/m+title").name == "xquad-dev.ar-acme-m-title.pkl"


@pytest.mark.fast
def test_the_install_scripts_helper_answers_help() -> None:
    """scripts/fetch_qwen.py (run by install.sh --llm) imports and parses its arguments with this package."""
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "fetch_qwen.py"), "--help"], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0 and "--dest" in done.stdout, done.stderr[-2000:]
