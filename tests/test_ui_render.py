"""The functions that turn answers, citations and articles into chat HTML, cards and exports.

No server and no model: citations are cut from the real sample article with the real sentence splitter,
and the HTML is read back with a real HTML parser.
"""

from __future__ import annotations

import dataclasses
import html
import json
from pathlib import Path

import pytest

from assistant.answer.extractive import short_line
from assistant.text.sentences import split_sentences
from assistant.types import Answer, ArticleInfo, Citation, IngestReport, Passage, Sentence, ShortAnswer
from assistant.web.answers import answer_html, paragraph_bounds, pending_html, question_html, short_span
from assistant.web.articles import article_choices, article_html, articles_table_html, ingest_report_html
from assistant.web.conversation import (
    Turn,
    api_answer,
    conversation_json,
    conversation_markdown,
    conversation_messages,
    feedback_record,
)
from assistant.web.layout import EXAMPLE_QUESTIONS
from assistant.web.links import Ref, article_href, cite_href, parse_ref
from assistant.web.markup import block_dir, error_html, status_html
from tests.helpers import EVIL, SAMPLE_ID, Tree, assert_safe
from tests.helpers import sample_text as read_sample


@pytest.fixture(scope="module")
def sample_text(sample_dir: Path) -> str:
    return read_sample(sample_dir)


def cite(n: int, article_id: str, text: str, needle: str, **meta: str | None) -> Citation:
    """The citation of the sentence of ``text`` holding ``needle``, as the engine makes it."""
    span = next(s for s in split_sentences(text) if needle in s.text)
    return Citation(n=n, article_id=article_id, sentence_id=f"{article_id}:{span.index}", text=span.text,
                    start=span.start, end=span.end, score=0.7, lang=meta.pop("lang", "ar"), **meta)


def make_answer(question: str, lang: str, lead: str, citations: list[Citation], **extra: object) -> Answer:
    lines = [lead] + [f"- {c.text} [{c.n}]" for c in citations]
    return Answer(question=question, text="\n".join(lines), citations=citations, abstained=False, lang=lang, **extra)  # type: ignore[arg-type]


# --- chat messages -------------------------------------------------------------------------------
def test_arabic_answer_links_markers_and_cards_to_the_cited_sentences(sample_text: str) -> None:
    cites = [cite(1, SAMPLE_ID, sample_text, "20 ألف جندي"), cite(2, SAMPLE_ID, sample_text, "بولتون", title="إيران وأفغانستان",
                                                                  source="رويترز", date="2019-06-01")]
    ans = make_answer("كم عدد القوات الأجنبية في أفغانستان؟", "ar", "بحسب المقالات:", cites)
    markup = answer_html(ans, {SAMPLE_ID: sample_text}, "sample")
    assert_safe(markup)
    tree = Tree(markup)

    root = tree.elements[0]
    assert root["attrs"]["class"] == "answer-msg" and root["attrs"]["dir"] == "rtl" and root["attrs"]["lang"] == "ar"
    markers = tree.find("a", "cite-marker")
    cards = tree.find("a", "cite-card")
    assert [m["text"] for m in markers] == ["[1]", "[2]"]
    assert len(cards) == 2
    for c, marker, card in zip(cites, markers, cards, strict=True):
        want = Ref("sample", SAMPLE_ID, c.start, c.end)
        assert parse_ref(marker["attrs"]["href"]) == want
        assert parse_ref(card["attrs"]["href"]) == want
        assert sample_text[want.start : want.end] == c.text
    marks = tree.find("mark", "cite-hl")
    assert [m["text"] for m in marks] == [c.text for c in cites]
    # the card shows the cited sentence inside its line of the article
    para = tree.find("div", "cite-para")[1]
    lo, hi, _, _ = paragraph_bounds(sample_text, cites[1].start, cites[1].end)
    assert para["text"] == sample_text[lo:hi] and para["attrs"]["dir"] == "rtl"
    # title falls back to the id; source and date are shown when known
    assert [t["text"] for t in tree.find("span", "cite-title")] == [SAMPLE_ID, "إيران وأفغانستان"]
    assert "رويترز" in tree.find("div", "cite-meta")[1]["text"] and "2019-06-01" in tree.find("div", "cite-meta")[1]["text"]
    assert [li["attrs"]["dir"] for li in tree.find("li")] == ["rtl", "rtl"]
    assert "\n" not in markup  # one HTML block: Markdown rendering in the chat cannot split it


def test_english_answer_is_ltr_with_its_quoted_arabic_lines_rtl(sample_text: str) -> None:
    c = cite(1, SAMPLE_ID, sample_text, "20 ألف جندي")
    ans = make_answer("How many foreign troops are in Afghanistan?", "en", "According to the articles (quoted in Arabic):", [c])
    tree = Tree(answer_html(ans, {SAMPLE_ID: sample_text}, "sample"))
    assert tree.elements[0]["attrs"]["dir"] == "ltr"
    lead = tree.find("p")[0]
    assert lead["text"].startswith("According") and lead["attrs"]["dir"] == "ltr"
    assert tree.find("li")[0]["attrs"]["dir"] == "rtl"
    assert tree.find("p", "cite-heading")[0]["text"] == "Sources"


def test_follow_up_shows_the_question_searched_for(sample_text: str) -> None:
    c = cite(1, SAMPLE_ID, sample_text, "20 ألف جندي")
    ans = make_answer("and Iran?", "en", "According to the articles:", [c],
                      standalone_question="and Iran? How many foreign troops are in Afghanistan?")
    tree = Tree(answer_html(ans, {SAMPLE_ID: sample_text}, "sample"))
    assert tree.find("p", "standalone")[0]["text"] == "Searched for: and Iran? How many foreign troops are in Afghanistan?"
    assert not Tree(answer_html(dataclasses.replace(ans, standalone_question=None), {}, "s")).find("p", "standalone")


def test_marker_without_a_citation_stays_text_and_missing_article_shows_the_sentence_alone(sample_text: str) -> None:
    c = cite(1, "gone", sample_text, "20 ألف جندي")
    ans = Answer(question="q", text=f"{c.text} [1] [7]", citations=[c], abstained=False, lang="ar")
    tree = Tree(answer_html(ans, {}, "news"))
    assert [m["text"] for m in tree.find("a", "cite-marker")] == ["[1]"]
    assert "[7]" in tree.text
    assert [m["text"] for m in tree.find("mark", "cite-hl")] == [c.text]
    assert parse_ref(tree.find("a", "cite-card")[0]["attrs"]["href"]) == Ref("news", "gone", c.start, c.end)


def test_card_finds_a_sentence_whose_offsets_moved(sample_text: str) -> None:
    c = cite(1, SAMPLE_ID, sample_text, "بولتون")
    edited = "سطر جديد في أول المقالة.\n" + sample_text
    tree = Tree(answer_html(Answer("q", f"{c.text} [1]", [c], False, "ar"), {SAMPLE_ID: edited}, "s"))
    ref = parse_ref(tree.find("a", "cite-card")[0]["attrs"]["href"])
    assert ref is not None and edited[ref.start : ref.end] == c.text


def test_abstention_notice_and_error_are_plain_messages() -> None:
    abst = Answer(question="ما وصفة الكعكة؟", text="لا تجيب المقالات المتاحة عن هذا السؤال.", citations=[],
                  abstained=True, lang="ar", notice="لا يوجد نموذج لغوي؛ إجابة استخراجية.")
    tree = Tree(answer_html(abst, {}, "sample"))
    assert tree.elements[0]["attrs"]["class"] == "answer-msg abstained"
    assert not tree.find("a") and not tree.find("mark")
    assert tree.find("p", "notice")[0]["text"] == abst.notice
    assert abst.text in tree.text

    err = error_html(f"index is locked {EVIL}\nTraceback is not shown", "en")
    assert_safe(err)
    etree = Tree(err)
    assert etree.elements[0]["attrs"]["role"] == "alert"
    assert EVIL in etree.text


def test_question_and_pending_messages_escape_and_pick_direction() -> None:
    for q, want in [("كم عدد القوات؟", "rtl"), ("How many troops?", "ltr"), ("OPEC تخفض إنتاج النفط مجددا", "rtl"),
                    ("ما هي OPEC؟", "rtl"), ("What did Reuters say about طالبان?", "ltr")]:
        tree = Tree(question_html(q))
        assert tree.elements[0]["attrs"]["dir"] == want, q
        assert tree.text == q
    evil = question_html(EVIL)
    assert_safe(evil)
    assert Tree(evil).text == EVIL
    pend = pending_html("بحسب المقالات:\n- " + EVIL, "ar")
    assert_safe(pend)
    assert Tree(pend).elements[0]["attrs"]["dir"] == "rtl"


def test_evil_article_text_title_and_question_run_nothing() -> None:
    text = f"First line is fine.\nThe attack {EVIL} sits here. Another sentence.\n"
    start = text.index("The attack")
    end = text.index("here.") + len("here.")
    c = Citation(1, "x<y>", "x:1", text[start:end], start, end, 0.5, title=EVIL, source=EVIL, date=EVIL, lang="en")
    ans = Answer(EVIL, f"{EVIL}\n- {c.text} [1]", [c], False, "en", notice=EVIL)
    for markup in (answer_html(ans, {"x<y>": text}, EVIL), question_html(EVIL),
                   article_html(ArticleInfo("x<y>", EVIL, EVIL, EVIL, "en", 2, None, "h"), text, start, end),
                   articles_table_html([ArticleInfo("x<y>", EVIL, EVIL, EVIL, "en", 2, None, "h")], EVIL),
                   status_html(EVIL, "error")):
        assert_safe(markup)
        assert "<script" not in markup and "<img" not in markup
        assert EVIL in Tree(markup).text


# --- links ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("article_id", ["2019/iran talks", "مقال#1", "a%2Fb?c=d&e", "plain"])
def test_links_round_trip_any_article_id(article_id: str) -> None:
    assert parse_ref(cite_href("my news", article_id, 3, 9)) == Ref("my news", article_id, 3, 9)
    assert parse_ref(article_href("my news", article_id)) == Ref("my news", article_id)


@pytest.mark.parametrize("href", [None, "", "#", "https://x", "#cite/a/b/3", "#cite/a/b/x/9", "#cite/a/b/9/3",
                                  "#article/a", "#other/a/b"])
def test_other_links_are_not_refs(href: str | None) -> None:
    assert parse_ref(href) is None


# --- paragraphs and articles ---------------------------------------------------------------------
def test_paragraph_is_the_line_and_a_long_line_is_cut_at_spaces_around_the_sentence() -> None:
    text = "Title\nShort one. The cited one. Tail.\nNext line"
    s = text.index("The cited")
    e = s + len("The cited one.")
    assert paragraph_bounds(text, s, e) == (6, text.index("\nNext"), False, False)

    long_line = " ".join(f"word{i}" for i in range(400))
    text = "Head\n" + long_line + " The cited one. " + long_line + "\nEnd"
    s = text.index("The cited")
    e = s + len("The cited one.")
    lo, hi, before, after = paragraph_bounds(text, s, e, max_chars=200)
    assert before and after
    assert lo <= s and e <= hi and hi - lo <= 200
    assert text[lo - 1] == " " and text[hi] == " "  # whole words only


def test_article_view_marks_the_span_with_paragraphs_in_their_own_direction() -> None:
    text = "عنوان المقالة\nقالت OPEC إن الإنتاج سيرتفع. وقال متحدث إن القرار نهائي.\n\nThe English paragraph stays LTR."
    s = text.index("وقال")
    e = text.index("نهائي.") + len("نهائي.")
    info = ArticleInfo("a1", None, "Reuters", "2024-01-02", "ar", 4, None, "h")
    markup = article_html(info, text, s, e)
    assert_safe(markup)
    tree = Tree(markup)
    assert tree.elements[0]["attrs"]["dir"] == "rtl"
    assert [m["text"] for m in tree.find("mark", "cited")] == [text[s:e]]
    paras = [p for p in tree.find("p") if "article-meta" not in p["attrs"].get("class", "")]
    assert [p["attrs"]["dir"] for p in paras] == ["rtl", "rtl", "ltr"]  # blank line skipped
    assert tree.find("h3")[0]["text"] == "a1"  # no title: the id
    meta = tree.find("div", "article-meta")[0]
    assert [b["text"] for b in tree.find("bdi")] == ["Reuters", "2024-01-02", "a1", "4 جملة"] and meta["attrs"]["dir"] == "rtl"
    assert not Tree(article_html(info, text)).find("mark")


def test_articles_table_and_choices() -> None:
    assert "no articles yet" in Tree(articles_table_html([], "news")).text
    infos = [ArticleInfo("a1", "Title A", None, None, "en", 12, None, "h"), ArticleInfo("b2", None, None, None, "ar", 31, None, "h")]
    tree = Tree(articles_table_html(infos, "news"))
    rows = tree.find("tr")[1:]
    assert [r["text"] for r in rows][0].startswith("Title Aa112en")
    assert [parse_ref(a["attrs"]["href"]) for a in tree.find("a", "article-link")] == [Ref("news", "a1"), Ref("news", "b2")]
    assert "43 sentences" in tree.text
    assert article_choices(infos) == [("Title A (a1)", "a1"), ("b2", "b2")]


def test_ingest_report_lists_failures_with_reasons() -> None:
    rep = IngestReport(added=["a"], unchanged=["b"], failed=[("bad<1>.pdf", "'.pdf' is not a format we read")])
    markup = ingest_report_html(rep, "news")
    assert_safe(markup)
    text = Tree(markup).text
    assert "added 1" in text and "unchanged 1" in text and "failed 1" in text and "bad<1>.pdf: '.pdf'" in text


# --- conversation, exports, feedback -------------------------------------------------------------
@pytest.fixture
def turns(sample_text: str) -> list[Turn]:
    c = cite(1, SAMPLE_ID, sample_text, "20 ألف جندي", title=None)
    passage = Passage(Sentence(c.sentence_id, SAMPLE_ID, 0, c.start, c.end, c.text), 0.7, 0.7, 0.6, 0.1)
    ans = make_answer("How many foreign troops are in Afghanistan?", "en", "According to the articles:", [c],
                      passages=[passage], standalone_question=None)
    return [
        Turn(question=ans.question, collection="sample", answer=ans, html=answer_html(ans, {SAMPLE_ID: sample_text}, "sample")),
        Turn(question="ماذا تريد إيران؟", collection="sample", error="another process is writing the index",
             html=error_html("another process is writing the index", "ar")),
    ]


def test_conversation_messages_are_two_per_turn(turns: list[Turn]) -> None:
    msgs = conversation_messages(turns)
    assert [m["role"] for m in msgs] == ["user", "assistant", "user", "assistant"]
    assert msgs[1]["content"] == turns[0].html
    assert Tree(msgs[2]["content"]).text == "ماذا تريد إيران؟"


def test_markdown_export_has_questions_answers_and_cited_sentences(turns: list[Turn]) -> None:
    md = conversation_markdown(turns)
    c = turns[0].answer.citations[0]  # type: ignore[union-attr]
    assert "## 1. How many foreign troops are in Afghanistan?" in md
    assert turns[0].answer.text in md  # type: ignore[union-attr]
    assert f"> {c.text}" in md
    assert f"[1] {SAMPLE_ID} (article `{SAMPLE_ID}`, characters {c.start}–{c.end})" in md
    assert "## 2. ماذا تريد إيران؟" in md and "Error: another process is writing the index" in md


def test_json_export_is_data_with_offsets_and_without_passages(turns: list[Turn], sample_text: str) -> None:
    data = json.loads(json.dumps(conversation_json(turns), ensure_ascii=False))
    first, second = data["turns"]
    assert "passages" not in first["answer"]
    c = first["answer"]["citations"][0]
    assert sample_text[c["start"] : c["end"]] == c["text"]
    assert first["question"] == "How many foreign troops are in Afghanistan?" and first["collection"] == "sample"
    assert second["answer"] is None and second["error"] == "another process is writing the index"
    assert api_answer(turns[0].answer) == first["answer"]  # type: ignore[arg-type]


def test_feedback_record(turns: list[Turn]) -> None:
    rec = feedback_record(turns[0], "down", "  wrong number ")
    assert rec["vote"] == "down" and rec["comment"] == "wrong number" and rec["turn_id"] == turns[0].id
    assert rec["citations"][0]["article_id"] == SAMPLE_ID and rec["answer"] == turns[0].answer.text  # type: ignore[union-attr]
    assert feedback_record(turns[1], "up")["comment"] is None
    json.dumps(rec)


def test_examples_cover_both_languages() -> None:
    assert {block_dir(q)[1] for q in EXAMPLE_QUESTIONS} == {"ar", "en"}


# --- the short answer: first line, and a second highlight inside its cited sentence -----------------
def short_in(c: Citation, words: str) -> ShortAnswer:
    """The short answer ``words`` inside citation ``c``'s sentence, with article offsets (as the engine's
    producers make it: assistant/answer/short/producers.py ``short_from``)."""
    at = c.text.index(words)
    return ShortAnswer(text=words, article_id=c.article_id, sentence_id=c.sentence_id, start=c.start + at,
                       end=c.start + at + len(words), n=c.n, confidence=0.6, method="rules")


def short_answer(question: str, lang: str, lead: str, citations: list[Citation], short: ShortAnswer | None,
                 **extra: object) -> Answer:
    """An answer as the extractive answerer writes it: the short line first (when there is one)."""
    lines = ([short_line(short, lang, citations)] if short else []) + [lead] + [f"- {c.text} [{c.n}]" for c in citations]
    return Answer(question=question, text="\n".join(lines), citations=citations, abstained=False, lang=lang,  # type: ignore[arg-type]
                  short=short, **extra)


def wrapped(outer_class: str, sentence: str, words: str, at: int) -> str:
    """The exact markup of ``sentence`` in its highlight with ``words`` (at ``at``) in the second one."""
    e = html.escape
    return (f'<mark class="{outer_class}">{e(sentence[:at])}<mark class="short-answer">{e(words)}</mark>'
            f"{e(sentence[at + len(words):])}</mark>")


def test_short_answer_leads_the_message_and_is_marked_inside_its_card_only(sample_text: str) -> None:
    cites = [cite(1, SAMPLE_ID, sample_text, "20 ألف جندي"), cite(2, SAMPLE_ID, sample_text, "بولتون")]
    short = short_in(cites[0], "20 ألف جندي")
    assert sample_text[short.start : short.end] == short.text
    ans = short_answer("كم عدد القوات الأجنبية في أفغانستان؟", "ar", "بحسب المقالات:", cites, short)
    markup = answer_html(ans, {SAMPLE_ID: sample_text}, "sample")
    assert_safe(markup)
    tree = Tree(markup)

    # the first block of the message is the short answer, once, with its own clickable marker
    first = tree.find("p")[0]
    assert first["attrs"]["class"] == "short-line" and first["text"] == f"{short.text} [1]"
    assert first["attrs"]["dir"] == "rtl"
    assert [b["text"] for b in tree.find("bdi", "short-text")] == [short.text]
    assert [p["text"] for p in tree.find("p")].count(first["text"]) == 1
    assert tree.find("p")[1]["text"] == "بحسب المقالات:"
    markers = tree.find("a", "cite-marker")
    assert [m["text"] for m in markers] == ["[1]", "[1]", "[2]"]
    with_short = Ref("sample", SAMPLE_ID, cites[0].start, cites[0].end, short.start, short.end)
    assert [parse_ref(m["attrs"]["href"]) for m in markers] == [
        with_short, with_short, Ref("sample", SAMPLE_ID, cites[1].start, cites[1].end)]

    # the second highlight wraps exactly the short answer's words, inside the first card's sentence
    marks = tree.find("mark", "short-answer")
    assert [m["text"] for m in marks] == [short.text]
    assert wrapped("cite-hl", cites[0].text, short.text, short.start - cites[0].start) in markup
    assert [m["text"] for m in tree.find("mark", "cite-hl")] == [c.text for c in cites]  # sentences whole
    cards = tree.find("a", "cite-card")
    assert parse_ref(cards[0]["attrs"]["href"]) == with_short
    assert parse_ref(cards[1]["attrs"]["href"]) == Ref("sample", SAMPLE_ID, cites[1].start, cites[1].end)
    lo, hi, _, _ = paragraph_bounds(sample_text, cites[0].start, cites[0].end)
    assert tree.find("div", "cite-para")[0]["text"] == sample_text[lo:hi]  # the paragraph text is unchanged


def test_english_question_shows_the_arabic_short_answer_first_in_its_own_direction(sample_text: str) -> None:
    c = cite(1, SAMPLE_ID, sample_text, "20 ألف جندي")
    short = short_in(c, "20 ألف جندي")
    ans = short_answer("How many foreign troops are in Afghanistan?", "en", "According to the articles (quoted in Arabic):",
                       [c], short)
    assert ans.text.splitlines()[0] == f"{short.text} (in Arabic) [1]"
    tree = Tree(answer_html(ans, {SAMPLE_ID: sample_text}, "sample"))
    first = tree.find("p")[0]
    assert first["attrs"]["class"] == "short-line" and first["text"] == f"{short.text} (in Arabic) [1]"
    assert (first["attrs"]["dir"], first["attrs"]["lang"]) == ("ltr", "en")  # the line reads as the answer
    words = tree.find("bdi", "short-text")[0]
    assert (words["text"], words["attrs"]["dir"], words["attrs"]["lang"]) == (short.text, "rtl", "ar")
    assert tree.find("p")[1]["text"].startswith("According")
    assert [m["text"] for m in tree.find("mark", "short-answer")] == [short.text]


def test_machine_translation_leads_and_the_original_words_are_marked(sample_text: str) -> None:
    c = cite(1, SAMPLE_ID, sample_text, "20 ألف جندي")
    short = dataclasses.replace(short_in(c, "20 ألف جندي"), translation="20,000 soldiers")
    ans = short_answer("How many foreign troops are in Afghanistan?", "en", "According to the articles:", [c], short)
    tree = Tree(answer_html(ans, {SAMPLE_ID: sample_text}, "sample"))
    assert tree.find("p")[0]["text"] == "20,000 soldiers (machine translation) [1]"
    assert [b["text"] for b in tree.find("bdi", "short-text")] == ["20,000 soldiers"]
    assert [m["text"] for m in tree.find("mark", "short-answer")] == [short.text]


def test_a_generated_answer_gets_the_short_line_first(sample_text: str) -> None:
    c = cite(1, SAMPLE_ID, sample_text, "20 ألف جندي")
    short = short_in(c, "20 ألف جندي")
    ans = Answer("كم عدد القوات؟", "يوجد نحو 20 ألف جندي أجنبي في أفغانستان [1].", [c], False, "ar", mode="generative",
                 short=short)
    tree = Tree(answer_html(ans, {SAMPLE_ID: sample_text}, "sample"))
    paras = [p["text"] for p in tree.find("p")]
    assert paras[:2] == [f"{short.text} [1]", ans.text]
    assert tree.find("p")[0]["attrs"]["class"] == "short-line"


def test_no_short_answer_means_no_short_line_and_no_second_highlight(sample_text: str) -> None:
    cites = [cite(1, SAMPLE_ID, sample_text, "20 ألف جندي"), cite(2, SAMPLE_ID, sample_text, "بولتون")]
    ans = short_answer("q", "ar", "بحسب المقالات:", cites, None)
    markup = answer_html(ans, {SAMPLE_ID: sample_text}, "sample")
    tree = Tree(markup)
    assert not tree.find("p", "short-line") and not tree.find("mark", "short-answer") and "short-" not in markup
    assert all(parse_ref(a["attrs"]["href"]).short_start is None for a in tree.find("a"))  # type: ignore[union-attr]
    # a short answer whose offsets do not hold its words is never highlighted (nor linked)
    wrong = dataclasses.replace(short_in(cites[0], "20 ألف جندي"), start=cites[0].start, end=cites[0].start + 11)
    assert short_span(cites[0], wrong, cites[0].start) is None
    other = dataclasses.replace(short_in(cites[0], "20 ألف جندي"), n=2)  # names citation 2: not in card 1
    assert short_span(cites[0], other, cites[0].start) is None
    tree = Tree(answer_html(dataclasses.replace(ans, short=wrong), {SAMPLE_ID: sample_text}, "sample"))
    assert not tree.find("mark", "short-answer")
    assert all(parse_ref(a["attrs"]["href"]).short_start is None for a in tree.find("a"))  # type: ignore[union-attr]


def test_short_answer_in_a_card_without_its_article_and_in_a_moved_sentence(sample_text: str) -> None:
    c = cite(1, SAMPLE_ID, sample_text, "20 ألف جندي")
    short = short_in(c, "20 ألف جندي")
    ans = short_answer("q", "ar", "بحسب المقالات:", [c], short)
    alone = answer_html(ans, {}, "s")  # the article is gone: the card shows the sentence alone
    assert wrapped("cite-hl", c.text, short.text, short.start - c.start) in alone
    edited = "سطر جديد في أول المقالة.\n" + sample_text
    moved = Tree(answer_html(ans, {SAMPLE_ID: edited}, "s"))
    ref = parse_ref(moved.find("a", "cite-card")[0]["attrs"]["href"])
    assert ref is not None and ref.short_start is not None and ref.short_end is not None
    assert edited[ref.short_start : ref.short_end] == short.text and edited[ref.start : ref.end] == c.text
    assert [m["text"] for m in moved.find("mark", "short-answer")] == [short.text]


def test_article_view_marks_the_short_answer_inside_the_cited_sentence(sample_text: str) -> None:
    c = cite(1, SAMPLE_ID, sample_text, "20 ألف جندي")
    short = short_in(c, "20 ألف جندي")
    info = ArticleInfo(SAMPLE_ID, None, None, None, "ar", 31, None, "h")
    card = Tree(answer_html(short_answer("q", "ar", "x", [c], short), {SAMPLE_ID: sample_text}, "sample"))
    ref = parse_ref(card.find("a", "cite-card")[0]["attrs"]["href"])  # what a click on the card opens
    assert ref is not None and ref.short_start is not None and ref.short_end is not None
    markup = article_html(info, sample_text, ref.start, ref.end, (ref.short_start, ref.short_end))
    assert_safe(markup)
    tree = Tree(markup)
    assert [m["text"] for m in tree.find("mark", "cited")] == [c.text]
    assert [m["text"] for m in tree.find("mark", "short-answer")] == [sample_text[short.start : short.end]] == [short.text]
    assert wrapped("cited", c.text, short.text, short.start - c.start) in markup
    assert not Tree(article_html(info, sample_text, c.start, c.end)).find("mark", "short-answer")


def test_short_answer_highlight_keeps_html_in_the_article_escaped_and_exact() -> None:
    text = 'Head line.\nThe port said 40 <i>ships</i> & "two" boats docked. Then it rained.\n'
    start = text.index("The port")
    end = text.index("docked.") + len("docked.")
    c = Citation(1, "x<y>", "x:1", text[start:end], start, end, 0.5, title="<b>t</b>", lang="en")
    words = '40 <i>ships</i> & "two"'
    short = short_in(c, words)
    ans = short_answer("How many ships docked?", "en", "According to the articles:", [c], short)
    info = ArticleInfo("x<y>", "<b>t</b>", None, None, "en", 2, None, "h")
    for markup in (answer_html(ans, {"x<y>": text}, "s"), answer_html(ans, {}, "s"),
                   article_html(info, text, start, end, (short.start, short.end))):
        assert_safe(markup)
        assert "<i>" not in markup and "<b>" not in markup
        tree = Tree(markup)
        assert [m["text"] for m in tree.find("mark", "short-answer")] == [words]
        assert html.escape(words) in markup
    assert Tree(answer_html(ans, {}, "s")).find("bdi", "short-text")[0]["text"] == words


def test_cite_links_carry_the_short_span_only_when_it_lies_in_the_sentence() -> None:
    assert parse_ref(cite_href("c", "a/b", 10, 40, (12, 20))) == Ref("c", "a/b", 10, 40, 12, 20)
    assert cite_href("c", "a", 10, 40, None) == cite_href("c", "a", 10, 40)
    for bad in ("#cite/c/a/10/40/5/20", "#cite/c/a/10/40/20/20", "#cite/c/a/10/40/30/41"):
        assert parse_ref(bad) == Ref("c", "a", 10, 40)  # the sentence opens, without a second highlight
    assert parse_ref("#cite/c/a/10/40/x/20") is None and parse_ref("#cite/c/a/10/40/12") is None
