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
import os
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
        "tools.calibrate_abstention", "tools.generative_calibrate",
        "tools.train_embedder_lora", "tools.train_span_reader"}
    assert len(SCRIPTS) == 27
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
    given = argparse.Namespace(sets=["xquad-dev.ar"], out=out, catalog="postgresql://u:pw2@db/x?password=pw3&a=1")
    write_result(out, settings, given, {"hit@1": 0.5}, quiet=True)
    record = json.loads(out.read_text(encoding="utf-8"))
    assert set(record) == {"commit", "dirty", "settings", "args", "results"}
    assert record["results"] == {"hit@1": 0.5} and record["args"]["sets"] == ["xquad-dev.ar"]
    text = out.read_text(encoding="utf-8")
    assert "sk-secret" not in text and "user:pw" not in text and "pw2" not in text and "pw3" not in text
    assert record["args"]["catalog"] == "postgresql://***@db/x?password=***&a=1"
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


# --- bench/reader_table.py: issue 22's table (the fake embedder; no model) ---------------------------------
def _reader_sets(data: Path) -> None:
    """xquad-dev.en-ar and xquad-dev.en as two tiny parallel sets: two documents of two paragraphs and
    one of one, a question per paragraph; the English gold of the first is the second's answers."""
    pages = {"Bridge": ["The city opened a new bridge in 2019. It cost 40 million dollars.",
                        "The bridge has four lanes for cars. Cyclists ride on the east side."],
             "Park": ["The central park covers 80 hectares. It opened in 1902.",
                      "The park has a lake with boats. The lake freezes in winter."],
             "Museum": ["The museum shows old maps. Entry is free on Sundays."]}
    (data / "qa").mkdir(parents=True)
    for name in ("xquad-dev.en-ar", "xquad-dev.en"):
        sets = {"version": "1.1", "data": [
            {"title": title, "paragraphs": [
                {"context": ctx, "qas": [{"id": f"{title}-{i}", "question": f"What about {ctx.split('.')[0]}?",
                                          "answers": [{"text": ctx.split()[1], "answer_start": 4}]}]}
                for i, ctx in enumerate(paras)]}
            for title, paras in pages.items()]}
        (data / "qa" / f"{name}.json").write_text(json.dumps(sets), encoding="utf-8")


def test_reader_table_measures_configurations_side_by_side(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    from bench import reader_table
    from tests.fakes import FakeEmbedder

    fake = FakeEmbedder()
    monkeypatch.setattr(reader_table, "_embedder", lambda settings: fake)
    monkeypatch.setenv("ASSISTANT_ANSWER__MIN_SCORE", "0.2")  # the fake embedder is not calibrated
    _reader_sets(tmp_path / "data")
    first = tmp_path / "first.json"
    sizes = ["--unanswerable", "1", "--on-topic", "2", "--warmup", "1"]
    assert reader_table.main(["--data", str(tmp_path / "data"), "--sets", "xquad-dev.en-ar", "xquad-dev.en",
                              "--no-baseline", "--variant", "refuse=answer.min_score=1e9", *sizes,
                              "--out", str(first)]) == 0
    out = capsys.readouterr().out
    rows = [line.split(" | ")[:3] for line in out.splitlines() if line.startswith("| xquad")]
    assert rows == [["| xquad-dev.en-ar", "en→ar", "new"], ["| xquad-dev.en-ar", "en→ar", "refuse"],
                    ["| xquad-dev.en", "en→en", "new"], ["| xquad-dev.en", "en→en", "refuse"],
                    # against the first configuration
                    ["| xquad-dev.en-ar", "refuse", rows[4][2]], ["| xquad-dev.en", "refuse", rows[5][2]]]
    record = json.loads(first.read_text(encoding="utf-8"))
    assert record["results"]["order"] == ["new", "refuse"] and record["args"]["on_topic"] == 2
    new, refuse = (record["results"]["configs"][n]["sets"] for n in ("new", "refuse"))
    for s in ("xquad-dev.en-ar", "xquad-dev.en"):
        assert (new[s]["n"], new[s]["n_withheld"], new[s]["n_on_topic"]) == (5, 1, 2)
        assert new[s]["n_timed"] == 4 and new[s]["ask_p50"] > 0  # the first question is not timed
        # the variant's settings were applied: it refuses everything
        assert refuse[s]["wrongly_abstained"] == 1.0 and refuse[s]["withheld_answered"] == 0.0
        assert refuse[s]["on_topic_answered"] == 0.0 and refuse[s]["first_hit"] == 0.0
        assert new[s]["wrongly_abstained"] < 1.0
    # F1 against the English gold only where a parallel set gives it
    assert new["xquad-dev.en-ar"]["short_f1_en"] is not None and new["xquad-dev.en"]["short_f1_en"] is None
    assert "| xquad-dev.en-ar | refuse | " in out and f"{-new['xquad-dev.en-ar']['wrongly_abstained'] + 1:+.3f}" in out

    # the same code against an earlier run's new column: every rate the same
    assert reader_table.main(["--data", str(tmp_path / "data"), "--sets", "xquad-dev.en", "--baseline-json",
                              str(first), *sizes, "--out", str(tmp_path / "second.json")]) == 0
    delta = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| xquad-dev.en | new |")]
    assert len(delta) == 1 and delta[0].count("+0.000") == 8  # 8 rates (no English gold here), 2 ratios
    assert delta[0].count(" – ") == 1 and delta[0].count("×") == 2


def test_reader_table_refuses_the_tuning_set_and_bad_variants(capsys: pytest.CaptureFixture[str]) -> None:
    from bench import reader_table

    with pytest.raises(SystemExit):
        reader_table.main(["--sets", "xquad-dev.ar", "tydiqa-goldp-ar-dev", "--no-baseline"])
    assert "no figure on it" in capsys.readouterr().err
    assert reader_table.parse_variant("off=retrieval.rerank=false,answer.max_citations=2,llm.provider=none") == (
        "off", {"retrieval": {"rerank": False}, "answer": {"max_citations": 2}, "llm": {"provider": "none"}})
    for bad in ("off", "old=answer.max_citations=2", "x=answer.max_citations"):
        with pytest.raises(argparse.ArgumentTypeError):
            reader_table.parse_variant(bad)


def test_the_baseline_runs_this_script_with_only_the_other_package(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """in_other_tree(package_only=True): ``assistant`` from the other checkout, ``bench`` from this one."""
    from bench import common

    tree = tmp_path / "old"
    (tree / "assistant").mkdir(parents=True)
    (tree / "bench").mkdir()  # an older bench/ without the script
    seen: dict = {}

    class Runner:
        @staticmethod
        def run(cmd: list[str], cwd: Path, env: dict[str, str], check: bool) -> None:
            first = Path(env["PYTHONPATH"].split(os.pathsep)[0])
            seen.update(cmd=cmd, path=env["PYTHONPATH"].split(os.pathsep), pkg=(first / "assistant").resolve(),
                        bench=(first / "bench").exists())
            Path(cmd[-1]).write_text(json.dumps({"results": {"ok": 1}}), encoding="utf-8")

    monkeypatch.setattr(common, "subprocess", Runner)
    assert common.in_other_tree(tree, "reader_table", ["--x"], package_only=True) == {"ok": 1}
    assert seen["pkg"] == (tree / "assistant").resolve() and not seen["bench"]
    assert seen["path"][1:] == [str(ROOT)] and seen["cmd"][3:5] == ["bench.reader_table", "--x"]
    common.in_other_tree(tree, "ranking_table", [])  # without: the other checkout's folder comes first
    assert seen["path"] == [str(tree.resolve()), str(ROOT)] and seen["bench"]
