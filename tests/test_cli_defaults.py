"""Every ``assistant`` sub-command works on the same default collection (the sample), and a command that
only reads or changes an index never leaves an empty one behind. In-process, over the fake embedder (the
model boundary, faked): fast tier."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from assistant.cli import main
from tests.helpers import SAMPLE_ID


@pytest.fixture
def root(monkeypatch: pytest.MonkeyPatch, fake_embedder) -> Path:  # noqa: ANN001
    import assistant.assistant as facade

    monkeypatch.setattr(facade, "build_embedder", lambda *_args: fake_embedder)
    return Path(os.environ["ASSISTANT_INDEX_ROOT"])  # a temp folder (tests/conftest.py)


def test_articles_without_an_index_lists_the_sample_and_makes_no_other_index(
        root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["articles", "--json"]) == 0, capsys.readouterr().err
    assert [a["id"] for a in json.loads(capsys.readouterr().out)] == [SAMPLE_ID]
    assert sorted(p.name for p in root.iterdir()) == ["sample"]


def test_ingest_and_ask_share_the_default_collection(root: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "dam.txt").write_text("The Mosul dam holds more water this year after heavy rain.", encoding="utf-8")
    assert main(["ingest", str(tmp_path / "dam.txt")]) == 0
    assert main(["ask", "How much water does the Mosul dam hold?", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out.split("\n", 1)[1])  # after ingest's report line
    assert answer["citations"] and answer["citations"][0]["article_id"] == "dam"
    assert sorted(p.name for p in root.iterdir()) == ["sample"]


@pytest.mark.parametrize("argv", [["articles", "--index", "nope"], ["remove", "x", "--index", "nope"],
                                  ["rebuild", "--index", "nope"]])
def test_a_command_on_a_missing_index_says_so_and_creates_nothing(
        root: Path, argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "no index at" in err and "assistant ingest PATH --index nope" in err
    assert not (root / "nope").exists()


def test_a_reader_that_stops_reading_ends_the_command_quietly(
        root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """`assistant articles --json | head -c 10`: the pipe closes under the command; no traceback."""

    class ClosedPipe:
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self) -> None:
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr("sys.stdout", ClosedPipe())
    assert main(["articles", "--json"]) == 1
    assert "Traceback" not in capsys.readouterr().err
