"""Evaluation: metric functions on hand-made cases, the report and plots, --compare, and end-to-end runs
on real dev questions with the real default model and a real Chroma."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from assistant import Assistant, Settings
from assistant.evaluation.compare import compare_runs
from assistant.evaluation.metrics import (
    answer_body,
    any_citation_hit,
    citation_precision,
    contains_answer,
    exact_match,
    f1_score,
    first_citation_hit,
    harmonic_mean,
    holds_gold,
    percentile,
    recall_at_k,
    reciprocal_rank,
)
from assistant.evaluation.qasets import Question
from assistant.evaluation.report import plot_label, render_report, summary_plots, summary_table
from assistant.evaluation.results import EvalRun, group_metrics, load_run, score_answer
from assistant.evaluation.run import model_tag, run_evaluation
from assistant.models.embedding.factory import gemma_vector_id
from assistant.settings import EmbeddingSettings
from assistant.terminal import shape_line
from assistant.text.answer_match import normalize_answer
from assistant.types import Answer, Citation
from tests.fakes import CountingEmbedder, FakeEmbedder
from tests.helpers import SAMPLE_ID, shared_qa

EXE = shutil.which("assistant") or str(Path(sys.executable).parent / "assistant")


# --- normalization, EM and F1 ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("البرازيل", "برازيل"),  # the article ال
        ("مُحَمَّد", "محمد"),  # diacritics
        ("أحمد", "احمد"),  # hamza on alef
        ("مدرسة", "مدرسه"),  # teh marbuta
        ("بغداد،", "بغداد"),  # Arabic comma
        ("«القاهرة»", "قاهرة"),  # guillemets and the article
        ("١٩٤٥", "1945"),  # Arabic-Indic digits
        ("The U.S.", "us"),  # English article and periods
        ("an apple!", "Apple"),
    ],
)
def test_normalize_answer_folds_arabic_and_english_the_same_way(a: str, b: str) -> None:
    assert normalize_answer(a) == normalize_answer(b)
    assert exact_match(a, [b]) == 1.0


def test_normalize_answer_keeps_short_words_and_separates_tokens() -> None:
    assert normalize_answer("إلى") == "الي"  # "ال" + one letter is not an article (ى→ي, إ→ا)
    assert normalize_answer("عام ١٩٤٥م.") == "عام 1945م"
    assert normalize_answer("the 5-year plan") == "5year plan"  # SQuAD deletes punctuation


def test_em_and_f1_on_known_cases() -> None:
    assert exact_match("5 مليارات دولار", ["خمسة", "5 مليارات دولار."]) == 1.0
    assert exact_match("وتبلغ كلفة المشروع 5 مليارات دولار.", ["5 مليارات دولار"]) == 0.0
    # pred tokens: وتبلغ كلفه مشروع 5 مليارات دولار (6); gold: 5 مليارات دولار (3); 3 shared
    assert f1_score("وتبلغ كلفة المشروع 5 مليارات دولار.", ["5 مليارات دولار"]) == pytest.approx(2 * 0.5 * 1 / 1.5)
    # the best gold counts; the article and the hamza do not stop a match
    assert f1_score("إلى البرازيل", ["لا شيء", "الى برازيل"]) == 1.0
    assert f1_score("", ["x"]) == 0.0 and f1_score("x", []) == 0.0


def test_contains_answer_is_arabic_normalized() -> None:
    assert contains_answer("وقال إنّ عدد القوات ٢٠ ألف جندي", ["20 الف جندي"])
    assert not contains_answer("وقال إن عدد القوات كبير", ["20 الف جندي"])
    assert not contains_answer("anything", [""])  # an empty gold answer never matches


# --- citation and ranking metrics -------------------------------------------------------------------
def test_hit_miss_and_two_citations() -> None:
    gold = ["s1"]
    assert first_citation_hit(["s1", "s9"], gold)
    assert not first_citation_hit(["s9", "s1"], gold)  # a miss at 1 ...
    assert any_citation_hit(["s9", "s1"], gold, 2)  # ... found by the second citation
    assert not any_citation_hit(["s9", "s1"], gold, 1)
    assert not first_citation_hit([], gold) and not any_citation_hit([], gold, 3)  # abstention


def test_citation_precision_counts_gold_sentences_and_sentences_with_the_answer() -> None:
    answers = ["20 ألف جندي"]
    cited = [("s1", "a gold sentence by id"), ("s7", "يوجد ٢٠ الف جندي هناك"), ("s8", "unrelated")]
    assert holds_gold("s7", cited[1][1], ["s1"], answers)
    assert not holds_gold("s8", "unrelated", ["s1"], answers)
    assert citation_precision(cited, ["s1"], answers) == pytest.approx(2 / 3)
    assert citation_precision(cited[:1], ["s1"], answers) == 1.0
    assert citation_precision([], ["s1"], answers) is None


def test_recall_and_reciprocal_rank() -> None:
    ranked = ["a", "b", "c", "d"]
    assert recall_at_k(ranked, ["c", "z"], 10) == 0.5
    assert recall_at_k(ranked, ["c"], 2) == 0.0
    assert reciprocal_rank(ranked, ["c", "d"]) == pytest.approx(1 / 3)
    assert reciprocal_rank(ranked, ["z"]) == 0.0
    assert reciprocal_rank(ranked, ["d"], k=3) == 0.0


def test_percentile_and_harmonic_mean() -> None:
    assert percentile([4, 1, 3, 2, 5], 50) == 3
    assert percentile([1, 2], 95) == pytest.approx(1.95)
    assert percentile([], 50) is None
    assert harmonic_mean(0.8, 0.5) == pytest.approx(2 * 0.4 / 1.3)
    assert harmonic_mean(0.0, 1.0) == 0.0 and harmonic_mean(None, 1.0) is None


# --- scoring answers (hand-made Answer records) ------------------------------------------------------
def cite(n: int, sid: str, text: str) -> Citation:
    return Citation(n=n, article_id="a1", sentence_id=sid, text=text, start=0, end=len(text), score=0.9)


def q(qid: str, gold: list[str], answers: list[str], pair: str = "ar→ar") -> Question:
    lang, alang = pair.split("→")
    return Question(id=qid, question=f"question {qid}?", answers=answers, article_id="a1", gold_sentence_ids=gold,
                    lang=lang, article_lang=alang, gold_texts=[f"text of {g}" for g in gold])


def answer(*cites: Citation, lang: str = "ar") -> Answer:
    if not cites:
        return Answer(question="?", text="لا تجيب المقالات المتاحة عن هذا السؤال.", citations=[], abstained=True,
                      lang=lang)
    lines = ["بحسب المقالات:"] + [f"- {c.text} [{c.n}]" for c in cites]
    return Answer(question="?", text="\n".join(lines), citations=list(cites), abstained=False, lang=lang)


def hand_made_results() -> list:
    return [
        # hit at 1
        score_answer(q("hit", ["s1"], ["5 مليارات"]), answer(cite(1, "s1", "الكلفة 5 مليارات دولار.")),
                     ["s1", "s2"], 0.10, 3, "answerable"),
        # miss at 1, found by the second of two citations; the first also states the answer
        score_answer(q("second", ["s2"], ["2026"], "en→ar"),
                     answer(cite(1, "s5", "في عام ٢٠٢٦ يبدأ."), cite(2, "s2", "ويبدأ التنفيذ في عام 2026.")),
                     ["s5", "s2"], 0.20, 3, "answerable"),
        # wrongly abstained
        score_answer(q("refused", ["s3"], ["x"]), answer(), ["s9", "s8", "s3"], 0.30, 3, "answerable"),
        # unanswerable: one abstained (right), one answered (wrong)
        score_answer(q("u-ok", ["s1"], ["5 مليارات"]), answer(), ["s4"], 0.05, 3, "unanswerable"),
        score_answer(q("u-bad", ["s1"], ["5 مليارات"]), answer(cite(1, "s4", "شيء آخر.")), ["s4"], 0.05, 3,
                     "unanswerable"),
    ]


def test_answer_body_drops_lead_in_and_markers() -> None:
    a = answer(cite(1, "s1", "الجملة الأولى."), cite(2, "s2", "الثانية."))
    assert a.text.startswith("بحسب المقالات:") and "[2]" in a.text
    assert answer_body(a) == "الجملة الأولى. الثانية."
    generated = Answer(question="?", text="The cost is 5 billion [1], starting 2026 [2].", citations=[],
                       abstained=False, lang="en", mode="generative")
    assert answer_body(generated) == "The cost is 5 billion, starting 2026."
    assert answer_body(answer()) == ""


def test_scored_questions_and_group_metrics_on_known_cases() -> None:
    res = {r.id: r for r in hand_made_results()}
    assert res["hit"].first_hit and res["hit"].hit_at == [True, True, True] and res["hit"].rr == 1.0
    assert not res["second"].first_hit and res["second"].hit_at == [False, True, True]
    assert res["second"].precision == 1.0 and res["second"].precision_strict == 0.5
    assert res["second"].contains and res["second"].f1 is not None and res["second"].em == 0.0
    assert res["refused"].abstained and res["refused"].precision is None and res["refused"].rr == pytest.approx(1 / 3)
    assert res["hit"].citations[0]["gold"] and res["hit"].citations[0]["holds"]

    m = group_metrics(list(res.values()))
    assert set(m) == {"all", "ar→ar", "en→ar"}
    a = m["all"]
    assert (a.n, a.n_gold, a.n_unanswerable) == (3, 3, 2)
    assert a.first_hit == pytest.approx(1 / 3)
    assert a.hit_at_k == pytest.approx(2 / 3)
    assert a.citation_hits == pytest.approx([1 / 3, 2 / 3, 2 / 3])
    assert a.mrr_at_10 == pytest.approx((1 + 0.5 + 1 / 3) / 3)
    assert a.citation_precision == pytest.approx(1.0)  # over the two answers that cite
    assert a.citation_precision_strict == pytest.approx(0.75)
    assert a.abstained == pytest.approx(1 / 3)
    assert a.answered_correctly == pytest.approx(2 / 3)
    assert a.unanswerable_answered == 0.5 and a.unanswerable_abstained == 0.5
    assert a.tradeoff == pytest.approx(harmonic_mean(2 / 3, 0.5))
    assert a.latency_p50 == pytest.approx(0.2)
    assert m["en→ar"].n == 1 and m["en→ar"].first_hit == 0.0 and m["en→ar"].n_unanswerable == 0


# --- saved runs, report, plots, compare --------------------------------------------------------------
def hand_made_run(results: list, retriever: str = "hybrid") -> EvalRun:
    config = {"set": "hand", "retriever": retriever, "mode": "extractive", "index": "idx", "index_articles": 2,
              "embedding_model": "m", "max_citations": 3, "min_score": 0.4, "started": "t", "seconds": 1.0,
              "holdout": {"index": "idx-holdout", "articles": 1, "withheld_articles": ["a1"]}}
    return EvalRun(config, results, group_metrics(results))


def test_results_round_trip_and_report_with_plots(tmp_path: Path) -> None:
    run = hand_made_run(hand_made_results())
    path = run.save(tmp_path)
    back = load_run(path)
    assert back.metrics == run.metrics and back.results == run.results
    rep = render_report(back, tmp_path)
    assert rep.path.read_text(encoding="utf-8") == rep.markdown
    assert "| en→ar | 1 |" in rep.markdown and "## Abstention" in rep.markdown
    assert "| all | 2 | 0.500 | 0.500 | 0.667 | 0.571 |" in rep.markdown  # the abstention row
    assert [p.name for p in rep.plots] == ["by_pair.png", "hit_at_k.png", "latency.png"]
    for p in rep.plots:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 5000
    table = summary_table([run, hand_made_run(hand_made_results(), "bm25")])
    assert table.count("| hand |") == 2
    assert len(summary_plots([run, hand_made_run(hand_made_results(), "bm25")], tmp_path / "docs")) == 3


def _isolated(ch: str) -> str:
    d = unicodedata.decomposition(ch).split()
    return chr(int(d[1], 16)) if len(d) == 2 and d[0] == "<isolated>" else ch


@pytest.mark.parametrize("text", ["النتائج حسب زوج اللغات", "سؤال عربي، مقال عربي", "لا إله"])
def test_plot_labels_come_out_joined_and_right_to_left(text: str) -> None:
    """The glyphs matplotlib lays out for a label, left to right, are the reshaped letters in visual order
    (what arabic-reshaper + python-bidi produce), whichever way this matplotlib handles text."""
    from matplotlib._text_helpers import layout
    from matplotlib.font_manager import FontProperties, fontManager, get_font

    font = get_font(fontManager._find_fonts_by_props(FontProperties(family="DejaVu Sans")))
    font.set_size(12, 72)
    got = [it.glyph_index for it in sorted(layout(plot_label(text), font), key=lambda it: it.x)]
    visual = shape_line(text)
    assert len(got) == len(visual)
    for gid, ch in zip(got, visual, strict=True):
        # an isolated presentation form may be drawn with the plain letter's glyph: they look the same
        assert gid in {font.get_char_index(ord(ch)), font.get_char_index(ord(_isolated(ch)))}


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([EXE, *args], capture_output=True, text=True, timeout=900,
                          env={**os.environ, **(env or {})})


def test_compare_command_prints_differences_and_changed_questions(tmp_path: Path) -> None:
    base = hand_made_results()
    better = [score_answer(q("second", ["s2"], ["2026"], "en→ar"), answer(cite(1, "s2", "ويبدأ التنفيذ في عام 2026.")),
                           ["s2"], 0.2, 3, "answerable") if r.id == "second" else r for r in base]
    better = [score_answer(q("u-bad", ["s1"], ["5 مليارات"]), answer(), ["s4"], 0.05, 3, "unanswerable")
              if r.id == "u-bad" else r for r in better]
    worse_hit = score_answer(q("hit", ["s1"], ["5 مليارات"]), answer(cite(1, "s9", "x")), ["s9"], 0.1, 3, "answerable")
    better = [worse_hit if r.id == "hit" else r for r in better]
    a, b = hand_made_run(base), hand_made_run(better)
    cmp = compare_runs(a, b)
    assert {r.id for r in cmp.gained} == {"second", "u-bad"} and {r.id for r in cmp.lost} == {"hit"}
    assert cmp.deltas["all"]["first_hit"] == (pytest.approx(1 / 3), pytest.approx(1 / 3), pytest.approx(0.0))
    assert cmp.deltas["all"]["unanswerable_abstained"][2] == pytest.approx(0.5)

    pa, pb = a.save(tmp_path / "A"), b.save(tmp_path / "B")
    done = run_cli("eval", "--compare", str(pa), str(pb))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "unanswerable_abstained" in out and "+0.500" in out
    assert "2 better in B, 1 worse in B" in out
    assert "better in B: [answerable] second (en→ar)" in out and "worse in B: [answerable] hit (ar→ar)" in out
    bad = run_cli("eval")
    assert bad.returncode == 2 and "--out" in bad.stderr


# --- reusing another index's embeddings (the fake embedder) ----------------------------------------
def test_reuse_embeddings_copies_another_index_cache(tmp_path: Path, fake_embedder, settings: Settings,  # noqa: ANN001
                                                     sample_dir: Path) -> None:
    """Assistant.reuse_embeddings (what the holdout index uses): the same articles added to a second index
    after it embed nothing; an index of another model offers vectors that match nothing."""
    s = settings.replace(index_root=tmp_path)
    with Assistant.open("first", settings=s, embedder=fake_embedder) as first:
        first.add([sample_dir])
        n_sentences = sum(i.n_sentences for i in first.articles())
        with Assistant.open("second", settings=s, embedder=fake_embedder) as second:
            assert second.reuse_embeddings(first) >= n_sentences  # an open Assistant ...
            assert second.reuse_embeddings([tmp_path / "first", "missing"]) >= n_sentences  # ... or folders
            before = len(fake_embedder.embedded)
            second.add([sample_dir])
            assert len(fake_embedder.embedded) == before and len(second.articles()) == len(first.articles())
    other = FakeEmbedder(dim=32)  # another model: its cached vectors are keyed by another model id
    with Assistant.open("third", settings=s, embedder=other) as third:
        third.reuse_embeddings(tmp_path / "first")
        third.add([sample_dir])
        assert len(other.embedded) >= n_sentences


# --- on-topic unanswerable questions (the fake embedder) ------------------------------------------------
PAGES = {
    "Bridge": ["The city opened a new bridge over the river in 2019. It cost 40 million dollars.",
               "The bridge has four lanes for cars. Cyclists have a separate path on the east side.",
               "The engineer who designed the bridge was Maria Lopez. She also designed the harbour tower."],
    "Park": ["The central park covers 80 hectares. It was opened to the public in 1902.",
             "The park has a lake with rowing boats. The lake freezes in cold winters."],
    "Solo": ["The museum shows old maps of the region. Entry is free on Sundays."],
}


def pages_squad(tmp_path: Path) -> Path:
    """Three documents (3, 2 and 1 paragraphs), one question per paragraph on its first words."""
    data = {"version": "1.1", "data": [
        {"title": title, "paragraphs": [
            {"context": ctx, "qas": [{"id": f"{title}-{i}", "question": f"What does it say: {ctx.split('.')[0]}?",
                                      "answers": [{"text": ctx.split()[1], "answer_start": ctx.index(ctx.split()[1])}]}]}
            for i, ctx in enumerate(paras, 1)]}
        for title, paras in PAGES.items()]}
    path = tmp_path / "pages.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_on_topic_questions_are_asked_of_an_index_without_their_paragraph(
        tmp_path: Path, fake_embedder: FakeEmbedder, fake_settings: Settings) -> None:
    settings = fake_settings.replace(index_root=tmp_path / "indexes")
    qfile = pages_squad(tmp_path)
    run = run_evaluation(qfile, on_topic=2, seed=3, settings=settings, embedder=fake_embedder)
    info = run.config["on_topic_index"]
    assert run.config["on_topic"] == 2 and run.config["holdout"] is None
    on_topic = [r for r in run.results if r.kind == "on_topic"]
    withheld = set(info["withheld_paragraphs"])
    assert len(on_topic) == 2 and {r.article_id for r in on_topic} == withheld
    with Assistant.open(run.config["index"], settings=settings, embedder=fake_embedder) as full:
        titles = {i.id: i.title for i in full.articles()}
    with Assistant.open(info["index"], settings=settings, embedder=fake_embedder) as topic:
        kept = {i.id for i in topic.articles()}
    # exactly the withheld paragraphs are missing; the other paragraphs of their articles stay
    assert kept == set(titles) - withheld and len(kept) == info["articles"] == 4
    for aid in withheld:
        assert titles[aid] != "Solo" and any(titles[k] == titles[aid] for k in kept)
    assert info["seeded_vectors"] > 0  # built from the main index's cache
    # the metric: answered on-topic questions / on-topic questions, in their own group
    m = run.metrics["all"]
    assert (m.n, m.n_unanswerable, m.n_on_topic) == (6, 0, 2)
    assert m.on_topic_answered == pytest.approx(sum(not r.abstained for r in on_topic) / 2)
    assert m.wrongly_abstained == m.abstained == pytest.approx(
        sum(r.abstained for r in run.results if r.kind == "answerable") / 6)

    # the same seed picks the same paragraphs; the model embeds nothing again (both indexes reused)
    embedded = len(fake_embedder.embedded)
    again = run_evaluation(qfile, on_topic=2, seed=3, settings=settings, embedder=fake_embedder)
    assert again.config["on_topic_index"]["withheld_paragraphs"] == info["withheld_paragraphs"]
    assert again.config["on_topic_index"]["ingest"]["unchanged"] == 4
    assert len(fake_embedder.embedded) == embedded
    # another seed may pick others; the on-topic index follows (and still embeds nothing)
    picks = {tuple(run_evaluation(qfile, on_topic=2, seed=s, settings=settings, embedder=fake_embedder)
                   .config["on_topic_index"]["withheld_paragraphs"]) for s in range(4)}
    assert len(picks) > 1 and len(fake_embedder.embedded) == embedded


def test_a_set_without_two_paragraphs_per_article_has_no_on_topic_questions(
        tmp_path: Path, fake_embedder: FakeEmbedder, fake_settings: Settings) -> None:
    settings = fake_settings.replace(index_root=tmp_path / "indexes")
    data = json.loads(pages_squad(tmp_path).read_text(encoding="utf-8"))
    data["data"] = [{"title": f"{e['title']} {i}", "paragraphs": [p]}
                    for e in data["data"] for i, p in enumerate(e["paragraphs"])]
    qfile = tmp_path / "singles.json"
    qfile.write_text(json.dumps(data), encoding="utf-8")
    run = run_evaluation(qfile, on_topic=3, settings=settings, embedder=fake_embedder)
    assert run.metrics["all"].n_on_topic == 0 and run.metrics["all"].on_topic_answered is None
    assert run.config["on_topic_index"]["index"] is None and "two paragraphs" in run.config["on_topic_index"]["note"]
    assert not (settings.index_root / "eval-singles-fake-hash-1024-ontopic").exists()


def test_an_answered_on_topic_question_counts_against_the_metric(tmp_path: Path) -> None:
    results = [*hand_made_results(),
               score_answer(q("t-ok", ["s1"], ["x"]), answer(), ["s4"], 0.05, 3, "on_topic"),
               score_answer(q("t-bad", ["s1"], ["x"]), answer(cite(1, "s4", "a sibling.")), ["s4"], 0.05, 3,
                            "on_topic"),
               score_answer(q("t-bad2", ["s1"], ["x"], "en→ar"), answer(cite(1, "s4", "another.")), ["s4"], 0.05, 3,
                            "on_topic")]
    m = group_metrics(results)
    assert (m["all"].n_on_topic, m["all"].on_topic_answered) == (3, pytest.approx(2 / 3))
    assert (m["ar→ar"].n_on_topic, m["ar→ar"].on_topic_answered) == (2, 0.5)
    assert m["en→ar"].on_topic_answered == 1.0
    # its own group: the answerable and withheld figures are those of the same run without it
    base = group_metrics(hand_made_results())["all"]
    assert dataclasses.replace(m["all"], n_on_topic=0, on_topic_answered=None) == base
    assert base.wrongly_abstained == base.abstained == pytest.approx(1 / 3)
    # report, compare (an abstention gained on an on-topic question is "better in B")
    run = hand_made_run(results)
    run.config["on_topic_index"] = {"index": "idx-ontopic", "articles": 1, "withheld_paragraphs": ["a1"]}
    md = render_report(run, tmp_path, plots=False).markdown
    assert "## On-topic abstention" in md and "| all | 3 | 0.667 | 0.333 |" in md
    assert "wrongly abstained" in md and "on-topic" in summary_table([run])
    fixed = [dataclasses.replace(r, abstained=True, citations=[]) if r.id == "t-bad" else r for r in results]
    cmp = compare_runs(run, hand_made_run(fixed))
    assert cmp.deltas["all"]["on_topic_answered"] == (pytest.approx(2 / 3), pytest.approx(1 / 3), pytest.approx(-1 / 3))
    assert [r.id for r in cmp.gained] == ["t-bad"] and not cmp.lost


def test_eval_command_passes_on_topic_and_prints_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str], settings: Settings) -> None:
    from assistant.cli import commands
    from assistant.cli.parser import build_parser
    from assistant.evaluation import run as run_module

    results = [*hand_made_results(),
               score_answer(q("t-bad", ["s1"], ["x"]), answer(cite(1, "s4", "a sibling.")), ["s4"], 0.05, 3, "on_topic")]
    asked: dict = {}

    def fake_run(questions: str, **kwargs: object) -> EvalRun:
        asked.update(kwargs)
        done = hand_made_run(results)
        done.config.update(short_producer="rules", on_topic_index={"index": "i", "articles": 1,
                                                                    "withheld_paragraphs": ["a1"]})
        return done

    monkeypatch.setattr(run_module, "run_evaluation", fake_run)
    args = build_parser().parse_args(["eval", "q.json", "--on-topic", "7", "--unanswerable", "2", "--no-plots",
                                      "--out", str(tmp_path / "out")])
    assert commands.cmd_eval(args, settings) == 0
    assert asked["on_topic"] == 7 and asked["unanswerable"] == 2
    out = capsys.readouterr().out
    assert "wrongly abstained 0.333" in out and "on-topic answered 1.000 (n=1)" in out
    assert load_run(tmp_path / "out" / "results.json").metrics["all"].on_topic_answered == 1.0
    assert build_parser().parse_args(["eval", "q.json"]).on_topic == 0


def test_a_results_file_of_an_older_version_still_loads_and_compares(tmp_path: Path) -> None:
    """results.json written before on-topic questions and ``wrongly_abstained`` existed."""
    run = hand_made_run(hand_made_results())
    path = run.save(tmp_path / "old")
    data = json.loads(path.read_text(encoding="utf-8"))
    for group in data["metrics"].values():
        for key in ("wrongly_abstained", "n_on_topic", "on_topic_answered"):
            del group[key]
    path.write_text(json.dumps(data), encoding="utf-8")
    old = load_run(path)
    assert old.metrics["all"].wrongly_abstained == pytest.approx(1 / 3) and old.metrics["all"].n_on_topic == 0
    cmp = compare_runs(old, run)
    assert cmp.deltas["all"]["wrongly_abstained"] == (pytest.approx(1 / 3), pytest.approx(1 / 3), 0.0)
    assert "on_topic_answered" not in cmp.deltas["all"]  # neither run has it
    assert "## On-topic abstention" not in render_report(old, tmp_path / "old", plots=False).markdown


# --- end to end on the real model ------------------------------------------------------------------
def xquad_subset(tmp_path: Path, contexts: int = 2) -> Path:
    src = json.loads(shared_qa("xquad-dev.ar").read_text(encoding="utf-8"))
    entry = src["data"][0]
    # one entry (title) per paragraph: the unanswerable hold-out withholds whole titles, and one must stay
    sub = {"version": src.get("version", "1.1"),
           "data": [{"title": f"{entry['title']} {i}", "paragraphs": [p]}
                    for i, p in enumerate(entry["paragraphs"][:contexts], 1)]}
    path = tmp_path / "xquad-mini.json"
    path.write_text(json.dumps(sub, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.mark.slow
def test_end_to_end_on_real_dev_questions(tmp_path: Path, embedder) -> None:  # noqa: ANN001
    settings = Settings(index_root=tmp_path / "indexes")
    counting = CountingEmbedder(embedder)
    qfile = xquad_subset(tmp_path)
    seen: list[tuple[int, int, str]] = []
    run = run_evaluation(qfile, limit=5, unanswerable=2, settings=settings, embedder=counting,
                         progress=lambda d, t, s: seen.append((d, t, s)))
    first_embedded = counting.documents
    m = run.metrics["all"]
    assert (m.n, m.n_unanswerable, run.config["index_articles"]) == (5, 2, 2)
    assert run.config["index"].endswith(f"eval-xquad-mini-{model_tag(embedder.vector_id)}")
    assert run.config["holdout"]["articles"] == 1 and run.config["holdout"]["seeded_vectors"] > 0
    assert (5, 5, "asking") in seen and (2, 2, "asking unanswerable") in seen
    # real questions about these two contexts: the gold sentence is cited for most of them
    assert m.hit_at_k >= 0.6 and m.recall_at_10 >= 0.8
    assert m.unanswerable_abstained is not None and m.latency_p50 > 0
    for r in run.results:
        assert r.pair == "ar→ar" and r.gold_sentences
        assert len(r.ranking) == (10 if r.kind == "answerable" else 3)  # the holdout article has 3 sentences
        for c in r.citations:
            assert c["gold"] == (c["sentence_id"] in r.gold_sentence_ids)

    # the ranking scored is exactly Assistant.search's, and the index holds exactly the corpus
    with Assistant.open(run.config["index"], settings=settings, embedder=embedder) as a:
        assert len(a.articles()) == 2
        for r in run.results:
            if r.kind == "answerable":
                assert r.ranking == [p.sentence.id for p in a.search(r.question, 10)]

    # a second run reuses both indexes: nothing is embedded again
    again = run_evaluation(qfile, limit=2, unanswerable=2, settings=settings, embedder=counting)
    assert counting.documents == first_embedded
    assert again.config["ingest"] == {"added": 0, "replaced": 0, "unchanged": 2, "removed": 0}
    assert again.config["holdout"]["ingest"]["unchanged"] == 1
    # the holdout index was built from vectors cached in the main index: only the main index embedded
    with Assistant.open(run.config["index"], settings=settings, embedder=embedder) as a:
        assert first_embedded == sum(i.n_sentences for i in a.articles())

    rep = render_report(run, tmp_path / "out")
    assert "first-citation hit@1" in rep.markdown and len(rep.plots) == 3


@pytest.mark.slow
def test_cli_eval_on_jsonl_with_articles(tmp_path: Path) -> None:
    arts = tmp_path / "articles"
    arts.mkdir()
    (arts / "transport.txt").write_text(
        "أعلنت الحكومة خطة جديدة للنقل العام في المدينة.\nوتبلغ كلفة المشروع 5 مليارات دولار.\n"
        "ويبدأ التنفيذ في عام 2026 ويستمر أربع سنوات.", encoding="utf-8")
    (arts / "bridge.txt").write_text(
        "The city opened a new bridge over the river on Monday.\nIt cost 40 million dollars.\n"
        "The mayor said traffic would fall by a third.", encoding="utf-8")
    qs = tmp_path / "questions.jsonl"
    qs.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in [
        {"id": "cost-ar", "question": "كم تبلغ كلفة مشروع النقل؟", "answers": ["5 مليارات دولار"],
         "article_id": "transport"},
        {"id": "cost-en", "question": "How much did the new bridge cost?", "answers": ["40 million dollars"],
         "article_id": "bridge", "gold_text": "It cost 40 million dollars."},
        {"id": "start", "question": "When does the transport plan start?", "answers": ["2026"],
         "article_id": "transport"},
    ]), encoding="utf-8")
    out = tmp_path / "run"
    done = run_cli("eval", str(qs), "--articles", str(arts), "--out", str(out), "--unanswerable", "1",
                   env={"ASSISTANT_INDEX_ROOT": str(tmp_path / "indexes"), "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr
    assert "questions (hybrid, extractive): 3 questions" in done.stdout
    assert "asking" in done.stderr  # the progress bar
    run = load_run(out / "results.json")
    assert set(run.metrics) == {"all", "ar→ar", "en→ar", "en→en"}
    # the Arabic question is answered from its sentence first; all but one gold sentence are cited
    # (the real model puts "The city opened a new bridge" before "It cost 40 million dollars")
    assert run.metrics["ar→ar"].first_hit == 1.0 and run.metrics["all"].hit_at_k >= 2 / 3
    assert run.metrics["all"].n_unanswerable == 1
    assert (out / "report.md").exists() and (out / "by_pair.png").exists()
    assert sorted(p.name for p in (tmp_path / "indexes").iterdir()) == [
        f"eval-questions-{model_tag(gemma_vector_id(EmbeddingSettings()))}",
        f"eval-questions-{model_tag(gemma_vector_id(EmbeddingSettings()))}-holdout",
    ]


@pytest.mark.slow
def test_jsonl_over_the_articles_already_in_an_index(tmp_path: Path, sample_assistant: Assistant, embedder) -> None:  # noqa: ANN001
    """A JSONL set without --articles is asked of a named index, over what it holds; nothing is re-indexed."""
    qs = tmp_path / "sample-questions.jsonl"
    qs.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in [
        {"id": "troops", "question": "كم عدد القوات الأجنبية في أفغانستان؟", "answers": ["20 ألف جندي"],
         "article_id": SAMPLE_ID},
        {"id": "troops-en", "question": "How many foreign troops are in Afghanistan?", "answers": ["20 ألف جندي"],
         "article_id": SAMPLE_ID},
    ]), encoding="utf-8")
    before = sample_assistant.articles()
    run = run_evaluation(qs, index=sample_assistant.path, settings=Settings(index_root=tmp_path),
                         embedder=embedder)
    assert sample_assistant.articles() == before
    assert run.config["ingest"]["added"] == 0 and run.config["index"] == str(sample_assistant.path)
    by_id = {r.id: r for r in run.results}
    assert by_id["troops"].pair == "ar→ar" and by_id["troops-en"].pair == "en→ar"
    assert by_id["troops"].gold_sentences and "20 ألف جندي" in by_id["troops"].gold_sentences[0]
    assert by_id["troops"].first_hit and by_id["troops"].contains  # the engine's own test finds it first
