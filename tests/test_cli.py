"""The `assistant` command end to end, in real subprocesses (the installed entry point); and in-process
over the fake embedder (fast tier): one Settings per command, the choices offered."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.cli import main
from tests.helpers import SAMPLE_ID, sample_text

EXE = shutil.which("assistant") or str(Path(sys.executable).parent / "assistant")


def run(*args: str, stdin: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([EXE, *args], input=stdin, capture_output=True, text=True, timeout=600,
                          env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def cli_index(tmp_path_factory: pytest.TempPathFactory, sample_dir: Path) -> Path:
    index = tmp_path_factory.mktemp("cli") / "news"
    done = run("ingest", str(sample_dir), "--index", str(index))
    assert done.returncode == 0, done.stderr
    assert "added 1, replaced 0, unchanged 0, failed 0" in done.stdout
    return index


def test_ingest_is_incremental_and_reports_failures(cli_index: Path, tmp_path: Path, sample_dir: Path) -> None:
    again = run("ingest", str(sample_dir), "--index", str(cli_index))
    assert again.returncode == 0 and "unchanged 1" in again.stdout
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    failed = run("ingest", str(bad), "--index", str(cli_index))
    assert failed.returncode == 2
    assert "bad.json" in failed.stderr and "not valid JSON" in failed.stderr
    listed = run("articles", "--index", str(cli_index), "--json")
    assert [a["id"] for a in json.loads(listed.stdout)] == [SAMPLE_ID]


def test_ask_json_gives_citations_with_exact_offsets(cli_index: Path, sample_dir: Path) -> None:
    done = run("ask", "How many foreign troops are in Afghanistan?", "--json", "--index", str(cli_index))
    assert done.returncode == 0, done.stderr
    ans = json.loads(done.stdout)
    assert ans["lang"] == "en" and not ans["abstained"] and "passages" not in ans
    text = sample_text(sample_dir)
    for c in ans["citations"]:
        assert text[c["start"] : c["end"]] == c["text"]
    assert any("20 ألف" in c["text"] for c in ans["citations"])


def test_ask_plain_and_shaped(cli_index: Path) -> None:
    plain = run("ask", "كم عدد القوات الأجنبية في أفغانستان؟", "--index", str(cli_index))
    assert plain.returncode == 0 and "بحسب المقالات" in plain.stdout and "[1]" in plain.stdout
    shaped = run("ask", "كم عدد القوات الأجنبية في أفغانستان؟", "--index", str(cli_index), "--shape")
    assert shaped.returncode == 0
    assert any("\ufe70" <= ch <= "\ufeff" for ch in shaped.stdout)  # Arabic presentation forms: shaped
    assert "بحسب المقالات" not in shaped.stdout  # and reordered for display


def test_chat_in_the_terminal_keeps_the_conversation(cli_index: Path) -> None:
    talk = "What are the secret contacts between Iran and the United States about?\nand what does Iran want?\n\n"
    done = run("chat", "--index", str(cli_index), stdin=talk)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("According to the articles") == 2
    assert "العقوبات" in done.stdout.split("According to the articles")[2]


def test_remove_and_unknown_article(cli_index: Path, tmp_path: Path, sample_dir: Path) -> None:
    index = tmp_path / "rm"
    shutil.copytree(cli_index, index)
    gone = run("remove", SAMPLE_ID, "--index", str(index))
    assert gone.returncode == 0 and f"removed {SAMPLE_ID}" in gone.stdout
    missing = run("remove", "nope", "--index", str(index))
    assert missing.returncode == 1 and "no article 'nope'" in missing.stderr
    empty = run("ask", "What happened?", "--index", str(index))
    assert "no articles" in empty.stdout


def test_each_command_builds_its_settings_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_embedder,  # noqa: ANN001
                                               capsys: pytest.CaptureFixture[str]) -> None:
    import assistant.assistant as facade
    from assistant.cli import commands as cli

    built: list[object] = []
    real = cli.Settings
    monkeypatch.setattr(cli, "Settings", lambda: built.append(1) or real())
    monkeypatch.setattr(facade, "build_embedder", lambda *_args: fake_embedder)  # the model boundary, faked
    folder = tmp_path / "few"
    folder.mkdir()
    (folder / "dam.txt").write_text("The dam holds more water this year. Rain fell in Basra.", encoding="utf-8")
    index = str(tmp_path / "idx")
    for argv in (["ingest", str(folder), "--index", index], ["articles", "--index", index, "--json"],
                 ["ask", "How much water does the dam hold?", "--index", index, "--json"]):
        built.clear()
        assert main(argv) == 0, capsys.readouterr().err
        assert len(built) == 1, f"{argv[0]} built Settings {len(built)} times"
    assert '"question": "How much water does the dam hold?"' in capsys.readouterr().out
