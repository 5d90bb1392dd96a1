"""The chat's Evaluate section: `ChatApp.evaluate` on small question sets written here, with the real
embedder (the fake one for refused uploads) and a real Chroma index (no server: the page's button only
forwards to this method, which calls the evaluation workflow)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant import Assistant, Settings
from assistant.service.collections import Collections
from assistant.service.service import CollectionService
from assistant.web.chat import EVAL_RUNS_DIR, ChatApp

AR_1 = "افتتحت البلدية جسرا جديدا فوق النهر يوم الاثنين. وبلغت كلفة الجسر 40 مليون دولار. وقال رئيس البلدية إن الزحام سينخفض بمقدار الثلث."
AR_2 = "أعلنت الحكومة خطة جديدة للنقل العام في المدينة. ويبدأ التنفيذ في عام 2026 ويستمر أربع سنوات."
EN_1 = "The museum reopened in March after a long renovation. About 3,000 visitors came on the first day."

SQUAD = {
    "version": "1.1",
    "data": [
        {"title": "جسر", "paragraphs": [{"context": AR_1, "qas": [
            {"id": "q-cost", "question": "كم بلغت كلفة الجسر؟",
             "answers": [{"text": "40 مليون دولار", "answer_start": AR_1.index("40 مليون دولار")}]},
            {"id": "q-cost-en", "question": "How much did the new bridge cost?",
             "answers": [{"text": "40 مليون دولار", "answer_start": AR_1.index("40 مليون دولار")}]},
        ]}]},
        {"title": "نقل", "paragraphs": [{"context": AR_2, "qas": [
            {"id": "q-start", "question": "متى يبدأ تنفيذ خطة النقل العام؟",
             "answers": [{"text": "2026", "answer_start": AR_2.index("2026")}]},
        ]}]},
        {"title": "Museum", "paragraphs": [{"context": EN_1, "qas": [
            {"id": "q-visitors", "question": "How many visitors came to the museum on the first day?",
             "answers": [{"text": "About 3,000", "answer_start": EN_1.index("About 3,000")}]},
        ]}]},
    ],
}


def _chat_over(tmp_path: Path, embedder, settings: Settings) -> Iterator[ChatApp]:  # noqa: ANN001
    """A chat over an empty collection whose index root is this test's temp folder."""
    s = settings.replace(index_root=tmp_path / "root")
    a = Assistant.open(s.index_root / "news", settings=s, embedder=embedder)
    chat = ChatApp(CollectionService(Collections(a)))
    yield chat
    chat.collections.close()


@pytest.fixture
def app(tmp_path: Path, embedder, settings: Settings) -> Iterator[ChatApp]:  # noqa: ANN001
    """The chat over the real default model."""
    yield from _chat_over(tmp_path, embedder, settings)


@pytest.fixture
def fake_app(tmp_path: Path, fake_embedder, settings: Settings) -> Iterator[ChatApp]:  # noqa: ANN001
    """The same over the fake embedder (tests/fakes.py): for what fails before any model time."""
    yield from _chat_over(tmp_path, fake_embedder, settings)


def _write(path: Path, text: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return str(path)


def _scores_row(markdown: str, group: str) -> list[str]:
    """The cells of one row of the report's Scores table."""
    for line in markdown.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0] == group:
            return cells
    raise AssertionError(f"no row {group!r} in:\n{markdown}")


def test_evaluate_a_squad_upload_shows_the_tables_plots_and_files(app: ChatApp, tmp_path: Path, embedder) -> None:  # noqa: ANN001
    upload = _write(tmp_path / "upload" / "tiny-set.json", json.dumps(SQUAD, ensure_ascii=False))
    seen: list[tuple[int, int, str]] = []
    out = app.evaluate(upload, "hybrid", "extractive", 1, 0, lambda d, t, stage: seen.append((d, t, stage)))

    assert 'role="alert"' not in out.status, out.status
    assert "Evaluated 4 question(s) and 1 unanswerable of tiny-set" in out.status
    assert {"asking", "asking unanswerable"} <= {stage for _, _, stage in seen}

    md = out.markdown
    assert "first-citation hit@1" in md and "## Abstention" in md
    row = _scores_row(md, "all")
    assert row[1] == "4"  # answerable questions
    assert 0.0 <= float(row[2]) <= 1.0  # first-citation hit@1 is a number
    assert {_scores_row(md, p)[1] for p in ("ar→ar", "en→ar", "en→en")} == {"2", "1"}
    assert "## Plots" not in md and str(tmp_path) not in md  # the gallery shows the plots; no server paths

    assert [Path(p).name for p in out.plots] == ["by_pair.png", "hit_at_k.png", "latency.png"]
    for p in out.plots:
        assert Path(p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    files = {Path(f).name: Path(f) for f in out.files}
    assert set(files) == {"results.json", "report.md"}
    data = json.loads(files["results.json"].read_text(encoding="utf-8"))
    assert data["config"]["embedding_model"] == embedder.vector_id
    assert data["config"]["retriever"] == "hybrid" and len(data["questions"]) == 5
    assert "first-citation hit@1" in files["report.md"].read_text(encoding="utf-8")

    # the run is kept under the index root, with the upload under its own name
    runs = list((app.settings.index_root / EVAL_RUNS_DIR).iterdir())
    assert len(runs) == 1
    assert {p.name for p in runs[0].iterdir()} >= {"results.json", "report.md", "by_pair.png", "input"}
    assert (runs[0] / "input" / "tiny-set.json").is_file()
    assert Path(data["config"]["index"]).name.startswith("eval-tiny-set-")

    limited = app.evaluate(upload, "bm25", "extractive", 0, 2)  # the index is reused; 2 questions only
    assert "Evaluated 2 question(s) of tiny-set" in limited.status
    assert _scores_row(limited.markdown, "all")[1] == "2"  # ar→ar and en→ar


def test_a_bad_upload_gives_a_plain_message(fake_app: ChatApp, tmp_path: Path) -> None:
    app = fake_app
    def failed(out) -> str:  # noqa: ANN001
        assert 'role="alert"' in out.status and out.markdown == "" and out.plots == [] and out.files == []
        assert "Traceback" not in out.status and str(tmp_path) not in out.status
        return out.status

    assert "Choose a question file" in failed(app.evaluate(None))
    not_json = _write(tmp_path / "up" / "broken.json", '{"data": [')
    assert re.search(r"broken\.json: is not SQuAD v1\.1 JSON", failed(app.evaluate(not_json)))
    wrong_shape = _write(tmp_path / "up" / "shape.json", json.dumps({"data": [{"paragraphs": [{"context": 5}]}]}))
    assert "shape.json: is not SQuAD v1.1 JSON nor our JSONL" in failed(app.evaluate(wrong_shape))
    empty = _write(tmp_path / "up" / "empty.json", json.dumps({"data": []}))
    assert "empty.json: holds no questions" in failed(app.evaluate(empty))
    text = _write(tmp_path / "up" / "questions.txt", "What?")
    assert "questions.txt &#x27;.txt&#x27; is not a type we take" in failed(app.evaluate(text))
    bad_line = _write(tmp_path / "up" / "lines.jsonl", '{"question": "What?"}\n')
    art = _write(tmp_path / "up" / "museum.txt", EN_1)
    assert "lines.jsonl:1: needs &#x27;question&#x27; and &#x27;article_id&#x27;" in failed(
        app.evaluate(bad_line, articles=[art]))
    assert "collection news (it is empty)" in failed(app.evaluate(bad_line))
    assert "retriever must be" in failed(app.evaluate(not_json, "tfidf"))
    assert "question limit must be a whole number" in failed(app.evaluate(not_json, limit=-1))

    big = tmp_path / "up" / "big.json"
    big.write_bytes(b" " * int(app.settings.server.max_upload_mb * 1_000_000 + 1))
    assert "over the upload limit" in failed(app.evaluate(str(big)))
    assert not any((app.settings.index_root / EVAL_RUNS_DIR).iterdir())  # failed runs leave nothing


def test_evaluate_a_jsonl_set_with_its_articles_or_over_the_collection(app: ChatApp, tmp_path: Path) -> None:
    bridge = _write(tmp_path / "up" / "bridge.txt", AR_1)
    museum = _write(tmp_path / "up" / "museum.txt", EN_1)
    questions = _write(tmp_path / "up" / "mine.jsonl", "\n".join(json.dumps(q, ensure_ascii=False) for q in [
        {"id": "cost", "question": "كم بلغت كلفة الجسر؟", "answers": ["40 مليون دولار"], "article_id": "bridge"},
        {"id": "visitors", "question": "How many visitors came on the first day?", "answers": ["3,000"],
         "article_id": "museum"},
    ]) + "\n")

    out = app.evaluate(questions, "dense", "extractive", 0, 50, articles=[bridge, museum])
    assert "Evaluated 2 question(s) of mine" in out.status, out.status
    assert _scores_row(out.markdown, "all")[1] == "2"

    # without article files: over the collection's own articles (here added through the chat's upload)
    app.upload([bridge, museum], "news")
    over = app.evaluate(questions, "hybrid", "extractive", 0, 0, collection="news")
    assert "Evaluated 2 question(s) of mine" in over.status and "collection news" in over.status, over.status
    first_hit = float(_scores_row(over.markdown, "all")[2])
    assert 0.0 <= first_hit <= 1.0
    # the collection the chat holds open still answers after the evaluation opened and closed it too
    answer = app.api_ask("How many visitors came on the first day?", "news")
    assert answer["citations"] and not answer["abstained"]
