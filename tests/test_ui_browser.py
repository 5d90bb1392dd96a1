"""The web chat in a real browser: Debian's chromium driven by playwright, against the real app (real
model, real index) served in a thread on a free port, with its index root in a temp folder.

Saves docs/screenshot-ar.png and docs/screenshot-en.png. Without /usr/bin/chromium or playwright the
tests skip, except in CI (env CI set), where they fail.
"""

from __future__ import annotations

import json
import os
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant import Settings
from assistant.web.app import launch, open_collection
from assistant.web.layout import build_ui
from assistant.web.links import parse_ref
from tests.helpers import SAMPLE_ID, sample_text

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
DOCS = Path(__file__).resolve().parents[1] / "docs"
TROOPS = "20 ألف جندي"
BOLTON = "بولتون"

PLANT = (
    "The Zarqa desalination plant opened in March 2031 near Aqaba.\n"
    "It produces 40 million litres of drinking water a day for Amman.\n"
    "Engineers said the plant runs on solar power.\n"
)
EVIL_TXT = (
    "The Falcon observatory <script>window.__xss=1</script> recorded a bright comet on Tuesday.\n"
    'Its telescope <img src=x onerror="window.__xss=1"> measured the tail at ${window.__xss=1} '
    "{{constructor.constructor('window.__xss=1')()}} kilometres.\n"
)
EVIL_JSON = {
    "id": "evil-title",
    "title": '<img src=x onerror="window.__xss=1"><script>window.__xss=1</script>',
    "source": "<b onmouseover=window.__xss=1>wire</b>",
    "text": "The lighthouse keeper counted nine ships in the harbour. Two of them were fishing boats.",
}


def _need_browser() -> Any:
    reason = None
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: apt-get install -y chromium"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        reason = reason or "playwright is not installed: pip install playwright (no `playwright install` needed)"
        sync_playwright = None  # type: ignore[assignment]
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests must run in CI: {reason}")
        pytest.skip(reason)
    return sync_playwright


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, embedder) -> Iterator[tuple[str, Path]]:  # noqa: ANN001
    """The app as `python app.py` serves it (sample index filled from the bundled samples), on a free port."""
    _need_browser()
    root = tmp_path_factory.mktemp("ui") / "indexes"
    settings = Settings(index_root=root)
    assistant = open_collection("sample", settings, embedder=embedder)
    demo = build_ui(assistant)
    port = _free_port()
    launch(demo, settings, port=port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/", root
    demo.close()
    assistant.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_playwright = _need_browser()
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update"],
        )
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, server: tuple[str, Path]) -> Iterator[Any]:
    pg = browser.new_page(viewport={"width": 1400, "height": 1100})
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(server[0], wait_until="load")
    pg.wait_for_selector("#question textarea", timeout=60_000)
    yield pg
    pg.close()
    assert not errors, errors


def ask(pg: Any, question: str) -> Any:
    """Ask through the text box; return the locator of the finished answer message."""
    done = pg.locator("#chat .answer-msg:not(.pending)").count()
    pg.fill("#question textarea", question)
    pg.press("#question textarea", "Enter")
    pg.wait_for_function(
        "n => document.querySelectorAll('#chat .answer-msg:not(.pending)').length > n", arg=done, timeout=60_000
    )
    return pg.locator("#chat .answer-msg:not(.pending)").last


def open_and_check_mark(pg: Any, link: Any) -> tuple[str, float]:
    """Click a marker or card; the article view must show its sentence highlighted and in view."""
    ref = parse_ref(link.get_attribute("href"))
    assert ref is not None and ref.start is not None
    link.click()
    mark = pg.locator("#article-view mark.cited")
    mark.first.wait_for(timeout=30_000)
    text = mark.first.inner_text()
    visible = pg.eval_on_selector(
        "#article-view mark.cited",
        """m => { let s = m.parentElement;
                 while (s && !(s.scrollHeight > s.clientHeight && /(auto|scroll)/.test(getComputedStyle(s).overflowY))) s = s.parentElement;
                 const r = m.getBoundingClientRect(); const box = s ? s.getBoundingClientRect() : {top: 0, bottom: innerHeight};
                 return {inBox: r.top >= box.top - 1 && r.bottom <= box.bottom + 1, inWindow: r.top >= 0 && r.bottom <= innerHeight,
                         scrolled: s ? s.scrollTop : scrollY}; }""",
    )
    assert visible["inBox"] and visible["inWindow"], visible
    return text, visible["scrolled"]


def style(pg: Any, locator: Any, *props: str) -> list[str]:
    return locator.evaluate("(e, ps) => ps.map(p => getComputedStyle(e)[p])", list(props))


def test_arabic_answer_reads_rtl_and_its_card_opens_the_sentence(page: Any, server: tuple[str, Path]) -> None:
    answer = ask(page, "كم عدد القوات الأجنبية في أفغانستان؟")
    cards = answer.locator("a.cite-card")
    assert cards.count() >= 1
    card = answer.locator("a.cite-card", has_text=TROOPS).first
    cited = card.locator("mark.cite-hl").inner_text()
    assert TROOPS in cited

    # direction and alignment: the message, its quoted lines and the question are right to left
    assert style(page, answer, "direction") == ["rtl"]
    line = answer.locator("li").first
    assert style(page, line, "direction", "unicodeBidi")[0:2] == ["rtl", "isolate"]
    assert style(page, line, "textAlign")[0] in ("start", "right")
    # the first line of the quote starts at the right edge of its box
    gap = line.evaluate(
        """li => { const r = document.createRange(); r.selectNodeContents(li); const first = r.getClientRects()[0];
                   const box = li.getBoundingClientRect(); return box.right - first.right; }"""
    )
    assert gap < 40, gap
    assert style(page, page.locator("#chat .question-msg").last, "direction") == ["rtl"]

    text, _ = open_and_check_mark(page, card)
    assert text == cited
    assert style(page, page.locator("#article-view .article-view"), "direction") == ["rtl"]
    DOCS.mkdir(exist_ok=True)
    page.screenshot(path=str(DOCS / "screenshot-ar.png"))


SHORT_QUESTIONS = ["كم عدد الجنود الأجانب في أفغانستان؟", "How many foreign troops are in Afghanistan?"]


@pytest.mark.parametrize("question", SHORT_QUESTIONS, ids=["ar", "en"])
def test_short_answer_leads_and_its_words_are_highlighted_in_card_and_article(
        page: Any, server: tuple[str, Path], sample_dir: Path, question: str) -> None:
    from gradio_client import Client

    # the API's short answer: exact words of the article, inside the sentence of its citation
    data = Client(server[0], verbose=False).predict(question, api_name="/ask")
    short = data["short"]
    assert short is not None, data["text"]
    article = sample_text(sample_dir)  # the text the sample index holds
    assert all(article[c["start"] : c["end"]] == c["text"] for c in data["citations"])
    assert short["article_id"] == SAMPLE_ID and article[short["start"] : short["end"]] == short["text"]
    cited = next(c for c in data["citations"] if c["n"] == short["n"])
    assert cited["start"] <= short["start"] < short["end"] <= cited["end"]
    n = f"[{short['n']}]"

    # the answer message opens with the short answer, its words in their own direction: the Arabic words,
    # or for the English question their conversion by rules ("20 ألف" → "20,000")
    if question.isascii():
        assert (short["translation"], short["translated_by"]) == ("20,000", "rules") and short["text"] == "20 ألف"
    else:
        assert short["translation"] is None
    answer = ask(page, question)
    first = answer.locator(":scope > p").first
    assert first.get_attribute("class") == "short-line"
    assert first.locator("bdi.short-text").inner_text() == (short["translation"] or short["text"])
    assert style(page, first.locator("bdi.short-text"), "direction") == ["ltr" if short["translation"] else "rtl"]
    assert style(page, first, "direction") == [style(page, answer, "direction")[0]]
    assert int(style(page, first, "fontWeight")[0]) >= 600  # prominent

    # the card of that citation marks the short answer inside its highlighted sentence; no other card does
    marks = answer.locator("mark.short-answer")
    assert marks.count() == 1
    inner = answer.locator("a.cite-card mark.cite-hl > mark.short-answer")
    assert inner.count() == 1 and inner.inner_text() == short["text"]
    card = answer.locator("a.cite-card", has=page.locator("mark.cite-hl > mark.short-answer"))
    assert card.locator(".cite-n").inner_text() == n
    assert cited["text"] == card.locator("mark.cite-hl").inner_text()
    outer_bg, inner_bg = style(page, card.locator("mark.cite-hl"), "backgroundColor") + style(page, inner, "backgroundColor")
    assert outer_bg != inner_bg  # a second, stronger colour

    # the short answer's own marker opens the article with the sentence and the short answer highlighted
    marker = first.locator("a.cite-marker")
    assert marker.inner_text() == n
    ref = parse_ref(marker.get_attribute("href"))
    assert ref is not None and (ref.short_start, ref.short_end) == (short["start"], short["end"])
    text, _ = open_and_check_mark(page, marker)
    assert text == cited["text"]
    in_view = page.locator("#article-view mark.cited > mark.short-answer")
    in_view.wait_for(timeout=30_000)
    assert in_view.count() == 1 and in_view.inner_text() == short["text"]


def test_english_answer_follow_up_feedback_and_export(page: Any, server: tuple[str, Path]) -> None:
    _, root = server
    exports = page.locator("#exports")
    assert exports.is_hidden()  # the "Exported conversation" box takes no room before an export
    answer = ask(page, "Who opposes easing sanctions on Iran?")
    assert style(page, answer, "direction") == ["ltr"]
    assert style(page, answer.locator("p").first, "direction") == ["ltr"]  # "According to the articles…"
    assert style(page, answer.locator("li").first, "direction") == ["rtl"]  # the quoted Arabic sentence
    bolton = answer.locator("a.cite-card", has_text=BOLTON)
    assert bolton.count() >= 1
    n = bolton.first.locator(".cite-n").inner_text()
    marker = answer.locator("a.cite-marker", has_text=n).first
    text, scrolled = open_and_check_mark(page, marker)
    assert BOLTON in text
    assert scrolled > 0  # the sentence sits near the end of the article: the view scrolled to it
    page.screenshot(path=str(DOCS / "screenshot-en.png"))

    follow = ask(page, "and what does Iran want?")
    searched = follow.locator("p.standalone").inner_text()
    assert "Who opposes easing sanctions on Iran?" in searched  # the earlier question was used
    assert follow.locator("a.cite-card").count() >= 1

    # thumbs up on the first answer, then a comment on it
    page.locator("#chat button[aria-label='Like']").first.click()
    page.locator("#feedback-status", has_text="Feedback saved").wait_for(timeout=30_000)
    page.fill("#feedback-comment textarea", "Bolton is right, thanks")
    page.click("#comment-btn")
    page.locator("#feedback-status", has_text="with your comment").wait_for(timeout=30_000)
    lines = [json.loads(x) for x in (root / "sample" / "feedback.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(x["vote"], x["comment"]) for x in lines] == [("up", None), ("up", "Bolton is right, thanks")]
    assert lines[0]["question"] == "Who opposes easing sanctions on Iran?" and lines[0]["turn_id"] == lines[1]["turn_id"]
    assert any(c["article_id"] for c in lines[0]["citations"])

    # export: a Markdown and a JSON file to download, in a box shown only now
    assert exports.is_hidden()
    page.click("#export-btn")
    links = page.locator("#exports a[href]")
    links.nth(1).wait_for(timeout=30_000)
    assert exports.is_visible() and links.count() == 2
    got = {}
    for i in range(links.count()):
        href = links.nth(i).get_attribute("href")
        resp = page.request.get(href if href.startswith("http") else server[0].rstrip("/") + href)
        assert resp.ok, href
        got[href.rsplit(".", 1)[-1]] = resp.text()
    assert "## 1. Who opposes easing sanctions on Iran?" in got["md"] and BOLTON in got["md"]
    data = json.loads(got["json"])
    assert [t["question"] for t in data["turns"]] == ["Who opposes easing sanctions on Iran?", "and what does Iran want?"]
    first = data["turns"][0]["answer"]
    assert first["citations"] and "passages" not in first
    assert data["turns"][1]["answer"]["standalone_question"]


def test_the_settings_filter_by_language_and_date(page: Any, server: tuple[str, Path]) -> None:
    """The filters of the settings reach the question: an English-only filter over the Arabic sample says
    that nothing matches; a date in no form we read is shown as the answer's error; cleared, it answers."""
    page.get_by_text("Settings · الإعدادات").click()
    english = page.locator("#language-filter").get_by_label("en")
    english.check()
    answer = ask(page, "Who opposes easing sanctions on Iran?")
    assert "No article matches the chosen filters" in answer.inner_text()
    assert answer.locator("a.cite-card").count() == 0
    english.uncheck()
    page.fill("#date-from textarea", "tomorrow")
    answer = ask(page, "Who opposes easing sanctions on Iran?")
    assert "'tomorrow' is not a date we read" in answer.inner_text()
    page.fill("#date-from textarea", "")
    answer = ask(page, "Who opposes easing sanctions on Iran?")
    assert answer.locator("a.cite-card", has_text=BOLTON).count() >= 1


def test_new_collection_upload_answer_and_nothing_runs_from_article_text(page: Any, server: tuple[str, Path],
                                                                          tmp_path: Path) -> None:
    page.fill("#new-collection textarea, #new-collection input", "uploads")
    page.click("#create-btn")
    page.locator("#collection-status", has_text="uploads is ready").wait_for(timeout=60_000)
    empty = ask(page, "When did the Zarqa plant open?")
    assert "no articles in this collection" in empty.inner_text()

    (tmp_path / "zarqa-plant.txt").write_text(PLANT, encoding="utf-8")
    (tmp_path / "falcon-note.txt").write_text(EVIL_TXT, encoding="utf-8")
    (tmp_path / "evil.json").write_text(json.dumps(EVIL_JSON), encoding="utf-8")
    with page.expect_response(lambda r: "/upload" in r.url and r.request.method == "POST", timeout=60_000):
        page.set_input_files("#upload input[type=file]",
                             [str(tmp_path / n) for n in ("zarqa-plant.txt", "falcon-note.txt", "evil.json")])
    page.wait_for_function(  # the three files are listed in the upload box
        "() => ['zarqa-plant', 'falcon-note', 'evil'].every(n => document.querySelector('#upload').innerText.includes(n))",
        timeout=60_000,
    )
    page.click("#add-btn")
    # visible progress: its first line ("Indexing 3 file(s)…") or the per-file one that replaces it at once
    # when the first file is quick (Gradio may send only the later update)
    page.locator(".progress-level", has_text=re.compile(r"Indexing 3 file\(s\)|Indexed ")).first.wait_for(
        timeout=30_000)
    page.locator("#collection-status", has_text="added 3").wait_for(timeout=120_000)
    listing = page.locator("#articles-list")
    for aid in ("zarqa-plant", "falcon-note", "evil-title"):
        assert listing.locator("tr", has_text=aid).count() == 1
    assert listing.locator("tr", has_text="zarqa-plant").locator("td").nth(2).inner_text() == "3"  # sentences

    answer = ask(page, "When did the Zarqa desalination plant open?")
    card = answer.locator("a.cite-card").first
    assert parse_ref(card.get_attribute("href")).article_id == "zarqa-plant"  # type: ignore[union-attr]
    assert "March 2031" in card.locator("mark.cite-hl").inner_text()

    evil = ask(page, "What did the Falcon observatory record?")
    evil_card = evil.locator("a.cite-card").first
    assert "<script>window.__xss=1</script>" in evil_card.inner_text()  # shown as text
    listing.locator("a.article-link", has_text="falcon-note").click()
    page.locator("#article-view h3", has_text="falcon-note").wait_for(timeout=30_000)
    page.wait_for_timeout(500)
    assert page.evaluate("typeof window.__xss") == "undefined"
    view = page.inner_text("#article-view")
    assert '<img src=x onerror="window.__xss=1">' in view and "<script>window.__xss=1</script>" in view
    assert "${window.__xss=1} {{constructor.constructor('window.__xss=1')()}}" in view  # templates not evaluated
    listing.locator("a.article-link", has_text="<img src=x").click()
    page.locator("#article-view h3", has_text="<script>window.__xss=1</script>").wait_for(timeout=30_000)
    page.wait_for_timeout(500)
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.locator("img[src=x], #chat script, #article-view script, #articles-list img").count() == 0

    # remove the article; its old card now opens a plain message, not a stack trace
    page.click("#remove-choice input")
    page.fill("#remove-choice input", "falcon-note")
    page.locator("ul[role=listbox] li", has_text="falcon-note").first.click()
    page.click("#remove-btn")
    page.locator("#collection-status", has_text="Removed falcon-note").wait_for(timeout=60_000)
    assert listing.locator("tr", has_text="falcon-note").count() == 0
    evil_card.click()
    page.locator("#article-view [role=alert]", has_text="no article 'falcon-note'").wait_for(timeout=30_000)
    assert "Traceback" not in page.inner_text("body")
