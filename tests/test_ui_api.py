"""The chat for other programs: the `gradio_client` API of a running app, and the chat's handlers
(feedback file, export, collections, plain error messages) called directly on a real index."""

from __future__ import annotations

import html
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant import Assistant, ConfigError
from assistant.service.collections import Collections
from assistant.service.service import CollectionService
from assistant.web.app import launch
from assistant.web.chat import FEEDBACK_FILE, ChatApp
from assistant.web.layout import build_ui
from tests.helpers import SAMPLE_ID, Tree


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def client(sample_assistant: Assistant, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A gradio_client Client of the app served over the (read-only) sample index."""
    from gradio_client import Client

    demo = build_ui(sample_assistant, index_root=tmp_path_factory.mktemp("api") / "indexes")
    port = _free_port()
    launch(demo, sample_assistant.settings, port=port, prevent_thread_lock=True, quiet=True)
    yield Client(f"http://127.0.0.1:{port}/", verbose=False)
    demo.close()


def check_citations(a: Assistant, data: dict) -> None:
    assert data["citations"]
    for c in data["citations"]:
        _, text = a.article(c["article_id"])
        assert text[c["start"] : c["end"]] == c["text"]
        assert f"[{c['n']}]" in data["text"]


def test_api_lists_only_the_named_endpoints(client) -> None:  # noqa: ANN001
    info = client.view_api(print_info=False, return_format="dict")
    assert set(info["named_endpoints"]) == {"/ask", "/articles"}
    assert not info["unnamed_endpoints"]


def test_ask_returns_the_answer_and_citations_as_data(client, sample_assistant: Assistant) -> None:  # noqa: ANN001
    data = client.predict("كم عدد القوات الأجنبية في أفغانستان؟", api_name="/ask")
    assert isinstance(data, dict) and "passages" not in data
    assert data["lang"] == "ar" and not data["abstained"] and data["mode"] == "extractive"
    assert any("20 ألف جندي" in c["text"] for c in data["citations"])
    check_citations(sample_assistant, data)
    assert {"article_id", "sentence_id", "start", "end", "score", "title", "source", "date"} <= set(data["citations"][0])


def check_short(a: Assistant, data: dict) -> dict:
    """The answer's short answer: exact words of the article (its stored text, the one the citations'
    offsets point into) inside the sentence of its citation, and the answer's first line."""
    short = data["short"]
    assert short is not None, data["text"]
    _, text = a.article(short["article_id"])
    assert text[short["start"] : short["end"]] == short["text"] and short["text"]
    c = next(c for c in data["citations"] if c["n"] == short["n"])
    assert c["article_id"] == short["article_id"] and c["sentence_id"] == short["sentence_id"]
    assert c["start"] <= short["start"] < short["end"] <= c["end"]
    assert c["text"][short["start"] - c["start"] : short["end"] - c["start"]] == short["text"]
    shown = short["translation"] or short["text"]  # its words, or their conversion by rules (no LLM here)
    assert data["text"].splitlines()[0].startswith(shown) and data["text"].splitlines()[0].endswith(f"[{c['n']}]")
    assert short["translated_by"] in (None, "rules")
    return short


def test_ask_returns_the_short_answer_with_exact_offsets(client, sample_assistant: Assistant) -> None:  # noqa: ANN001
    # /articles lists the articles without their text, so the offsets are checked against the stored text
    ar = check_short(sample_assistant, client.predict("كم عدد الجنود الأجانب في أفغانستان؟", api_name="/ask"))
    en = client.predict("How many foreign troops are in Afghanistan?", api_name="/ask")
    assert check_short(sample_assistant, en)["text"] == "20 ألف"
    assert en["text"].splitlines()[0].startswith("20,000 (converted from Arabic)")  # the number, by rules
    assert set(ar) == {"text", "article_id", "sentence_id", "start", "end", "n", "confidence", "method", "translation",
                       "translated_by"}


def test_ask_takes_settings_filters_and_history(client, sample_assistant: Assistant) -> None:  # noqa: ANN001
    one = client.predict("Who opposes easing sanctions on Iran?", max_citations=1, article_ids=[SAMPLE_ID],
                         api_name="/ask")
    assert one["lang"] == "en" and len(one["citations"]) == 1
    check_citations(sample_assistant, one)

    follow = client.predict("and what does Iran want?", history=["Who opposes easing sanctions on Iran?"],
                            api_name="/ask")
    assert "Who opposes easing sanctions on Iran?" in (follow["standalone_question"] or "")

    nothing = client.predict("Who opposes easing sanctions on Iran?", article_ids=["no-such-article"], api_name="/ask")
    assert nothing["abstained"] and nothing["citations"] == []

    arabic = client.predict("Who opposes easing sanctions on Iran?", languages=["ar"], api_name="/ask")
    assert arabic["citations"] and not arabic["abstained"]  # the sample article is Arabic
    english = client.predict("Who opposes easing sanctions on Iran?", languages=["en"], api_name="/ask")
    assert english["abstained"] and english["text"].startswith("No article matches the chosen filters")
    undated = client.predict("Who opposes easing sanctions on Iran?", date_from="1 يونيو 2019", api_name="/ask")
    assert undated["abstained"] and undated["citations"] == []  # the sample has no date: a date filter leaves it out
    with pytest.raises(Exception, match="is not a date we read"):
        client.predict("anything", date_to="tomorrow", api_name="/ask")

    gen = client.predict("How many foreign troops are in Afghanistan?", mode="generative", api_name="/ask")
    assert gen["notice"] and gen["citations"]  # no LLM configured: extractive, with a notice


def test_api_errors_are_plain_messages(client) -> None:  # noqa: ANN001
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="there is no collection 'nope'"):
        client.predict("anything", collection="nope", api_name="/ask")
    with pytest.raises(AppError, match="mode: Input should be '', 'extractive' or 'generative' \\(got 'poetic'\\)"):
        client.predict("anything", mode="poetic", api_name="/ask")


def test_articles_endpoint(client) -> None:  # noqa: ANN001
    rows = client.predict(api_name="/articles")
    assert [(r["id"], r["n_sentences"]) for r in rows] == [(SAMPLE_ID, 31)]
    assert "path" not in rows[0] and rows[0]["content_hash"]


# --- the chat's handlers, without a browser ---------------------------------------------------------
@pytest.fixture
def app(new_assistant: Assistant, tmp_path: Path) -> ChatApp:
    return ChatApp(CollectionService(Collections(new_assistant, tmp_path / "root")))


def test_empty_collection_answers_with_a_plain_message(app: ChatApp) -> None:
    steps = list(app.respond("متى افتتحت المحطة؟", [], "fresh"))
    assert len(steps) >= 2  # the question shows at once, then the answer
    messages, turns = steps[-1]
    assert turns[0].answer is not None and turns[0].answer.abstained
    assert "لا توجد مقالات في هذه المجموعة بعد" in messages[1]["content"]
    assert 'dir="rtl"' in messages[1]["content"]


def test_errors_become_plain_messages(app: ChatApp) -> None:
    _, turns = list(app.respond("How many troops?", [], "nope"))[-1]
    assert turns[0].error and "there is no collection 'nope'" in turns[0].error
    assert 'role="alert"' in turns[0].html and "Traceback" not in turns[0].html
    assert 'role="alert"' in app.open_ref("#cite/fresh/missing/0/4")
    assert "no article 'missing'" in html.unescape(app.open_ref("#cite/fresh/missing/0/4"))
    assert "Not a link" in app.open_ref("javascript:alert(1)")


def test_feedback_appends_to_the_index_folder_and_export_writes_files(app: ChatApp, new_assistant: Assistant) -> None:
    _, turns = list(app.respond("What happened?", [], "fresh"))[-1]
    assert "Feedback saved" in app.feedback(turns, 0, "down")
    assert "with your comment" in app.feedback(turns, 0, "down", "no articles yet?")
    assert "no longer" in app.feedback(turns, 5, "up")
    lines = (new_assistant.path / FEEDBACK_FILE).read_text(encoding="utf-8").splitlines()
    recs = [json.loads(x) for x in lines]
    assert [(r["vote"], r["comment"], r["question"]) for r in recs] == [
        ("down", None, "What happened?"), ("down", "no articles yet?", "What happened?")]

    md, js = app.export(turns)
    assert "## 1. What happened?" in Path(md).read_text(encoding="utf-8")
    assert json.loads(Path(js).read_text(encoding="utf-8"))["turns"][0]["answer"]["abstained"] is True


def test_the_chat_leads_with_the_short_answer_and_the_marker_opens_it_highlighted(
        fake_sample_assistant: Assistant, tmp_path: Path) -> None:
    """Fast tier: the fake embedder (tests/fakes.py) with the LLM-free rules producer; everything else real."""
    app = ChatApp(CollectionService(Collections(fake_sample_assistant, tmp_path / "root")))
    _, turns = list(app.respond("كم عدد القوات الأجنبية في أفغانستان؟", [], "sample"))[-1]
    ans = turns[0].answer
    assert ans is not None and ans.short is not None, turns[0].html
    short = ans.short
    _, text = fake_sample_assistant.article(short.article_id)
    assert text[short.start : short.end] == short.text
    tree = Tree(turns[0].html)
    first = tree.find("p")[0]
    assert first["attrs"]["class"] == "short-line" and first["text"].startswith(short.text)
    assert [m["text"] for m in tree.find("mark", "short-answer")] == [short.text]
    marker = tree.find("a", "cite-marker")[0]  # the short answer's own [n]
    assert marker["text"] == f"[{short.n}]"
    view = Tree(app.open_ref(marker["attrs"]["href"]))
    assert [m["text"] for m in view.find("mark", "short-answer")] == [short.text]
    cited = next(c for c in ans.citations if c.n == short.n)
    assert [m["text"] for m in view.find("mark", "cited")] == [cited.text]


def test_collections_are_created_under_the_root_and_share_the_embedder(app: ChatApp, tmp_path: Path) -> None:
    cols = app.collections
    assert cols.names() == ["fresh"]
    with pytest.raises(ConfigError, match="not a collection name"):
        cols.create("../escape")
    with pytest.raises(ConfigError, match="no collection"):
        cols.get("later")
    made = cols.create("later")
    assert made.path == tmp_path / "root" / "later" and (made.path / "manifest.json").is_file()
    assert made.embedder is cols.get("fresh").embedder
    assert cols.names() == ["fresh", "later"]
    table, choices, sources = app.collection_view("later")
    assert "no articles yet" in table and choices == [] and sources == []


def test_the_export_box_is_hidden_until_an_export_fills_it(fake_sample_assistant: Assistant, tmp_path: Path) -> None:
    """Fast tier: the page's "Exported conversation" box takes no room before an export; the export
    button's handler shows it with the Markdown and JSON files (the browser test checks it in chromium)."""
    demo = build_ui(fake_sample_assistant, index_root=tmp_path / "root")
    by_id = {getattr(b, "elem_id", None): b for b in demo.blocks.values()}
    exports, button = by_id["exports"], by_id["export-btn"]
    assert exports.visible is False
    [handler] = [f for f in demo.fns.values() if exports in f.outputs]
    assert handler.targets == [(button._id, "click")]
    shown = handler.fn([])
    assert shown["visible"] is True
    files = [Path(p) for p in shown["value"]]
    assert [f.suffix for f in files] == [".md", ".json"] and all(f.is_file() for f in files)
