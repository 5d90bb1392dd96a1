"""Question sets: SQuAD JSON and our JSONL, gold sentences, held-out questions. No model needed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.errors import IngestError, MalformedInputError
from assistant.evaluation.qasets import (
    first_articles,
    hold_out,
    load_jsonl,
    load_questions,
    load_squad,
    on_topic_hold_out,
    read_articles,
)
from assistant.text.sentences import sentence_id
from assistant.types import Article
from tests.helpers import shared_qa

CTX_AR = "أعلنت الحكومة خطة جديدة للنقل. وتبلغ كلفة المشروع 5 مليارات دولار. ويبدأ التنفيذ في عام 2026."
CTX_EN = "The city opened a new bridge. It cost 40 million dollars. Work began in 2019."


def squad_file(tmp_path: Path) -> Path:
    cost = CTX_AR.index("5 مليارات")
    data = {
        "version": "1.1",
        "data": [
            {"title": "نقل_عام", "paragraphs": [{"context": CTX_AR, "qas": [
                {"id": "q-ar", "question": "كم تبلغ كلفة المشروع؟",
                 "answers": [{"text": "5 مليارات دولار", "answer_start": cost}]},
                {"id": "q-en-ar", "question": "How much does the project cost?",
                 "answers": [{"text": "5 مليارات دولار", "answer_start": cost}]},
            ]}]},
            {"title": "Bridge", "paragraphs": [{"context": CTX_EN, "qas": [
                {"id": "q-en", "question": "When did work begin?",
                 "answers": [{"text": "2019", "answer_start": CTX_EN.index("2019")}]},
            ]}]},
        ],
    }
    path = tmp_path / "mini.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_squad_contexts_become_articles_and_gold_is_the_sentence_with_the_answer_start(tmp_path: Path) -> None:
    qs = load_squad(squad_file(tmp_path))
    assert qs.name == "mini"
    assert [a.id for a in qs.articles] == ["mini:0001", "mini:0002"]
    assert qs.articles[0].title == "نقل عام" and qs.articles[0].lang == "ar" and qs.articles[1].lang == "en"
    by_id = {q.id: q for q in qs.questions}
    assert by_id["q-ar"].pair == "ar→ar" and by_id["q-en-ar"].pair == "en→ar" and by_id["q-en"].pair == "en→en"
    assert by_id["q-ar"].gold_texts == ["وتبلغ كلفة المشروع 5 مليارات دولار."]
    assert by_id["q-ar"].gold_sentence_ids == [sentence_id("mini:0001", "وتبلغ كلفة المشروع 5 مليارات دولار.", 0)]
    assert by_id["q-en"].gold_texts == ["Work began in 2019."]


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n\n", encoding="utf-8")
    return path


def test_jsonl_locates_gold_from_ids_text_offsets_or_answer_strings(tmp_path: Path) -> None:
    arts = [Article(id="a1", text=CTX_AR, lang="ar"), Article(id="a2", text=CTX_EN)]
    sid = sentence_id("a1", "ويبدأ التنفيذ في عام 2026.", 0)
    path = write_jsonl(tmp_path / "qs.jsonl", [
        {"id": "by-id", "question": "متى يبدأ التنفيذ؟", "answers": ["2026"], "article_id": "a1", "gold_sentences": [sid]},
        {"id": "by-text", "question": "ما كلفة المشروع؟", "answers": ["5 مليارات"], "article_id": "a1",
         "gold_text": "وتبلغ كلفة المشروع 5 مليارات دولار."},
        {"id": "by-start", "question": "What did the city open?", "article_id": "a2",
         "answers": [{"text": "a new bridge", "answer_start": CTX_EN.index("a new bridge")}], "topic": "roads"},
        {"question": "How much did it cost?", "answers": ["40 million dollars"], "article_id": "a2", "lang": "en"},
    ])
    qs = load_questions(path, arts)
    by_id = {q.id: q for q in qs.questions}
    assert by_id["by-id"].gold_texts == ["ويبدأ التنفيذ في عام 2026."]
    assert by_id["by-text"].gold_texts == ["وتبلغ كلفة المشروع 5 مليارات دولار."]
    assert by_id["by-start"].gold_texts == ["The city opened a new bridge."]
    assert by_id["by-start"].extra == {"topic": "roads"} and by_id["by-start"].answers == ["a new bridge"]
    assert by_id["qs-4"].gold_texts == ["It cost 40 million dollars."]  # no id: file stem and line number
    assert by_id["by-id"].pair == "ar→ar" and by_id["qs-4"].pair == "en→en"


def test_jsonl_errors_name_the_line_and_the_fix(tmp_path: Path) -> None:
    arts = [Article(id="a1", text=CTX_AR)]
    bad_gold = write_jsonl(tmp_path / "g.jsonl", [{"question": "س؟", "article_id": "a1", "gold_sentences": ["nope"]}])
    with pytest.raises(MalformedInputError, match=r"g.jsonl:1.*gold_sentences"):
        load_jsonl(bad_gold, arts)
    missing = write_jsonl(tmp_path / "m.jsonl", [{"question": "س؟", "article_id": "zz"}])
    with pytest.raises(MalformedInputError, match="'zz' is not among the articles"):
        load_jsonl(missing, arts)
    no_q = write_jsonl(tmp_path / "n.jsonl", [{"article_id": "a1"}])
    with pytest.raises(MalformedInputError, match="needs 'question'"):
        load_jsonl(no_q, arts)
    with pytest.raises(MalformedInputError, match="--articles"):
        load_questions(missing, None)
    with pytest.raises(MalformedInputError, match="SQuAD"):
        load_squad(write_jsonl(tmp_path / "x.json", [{"not": "squad"}]))


def test_read_articles_uses_the_ingest_readers_and_fails_on_a_bad_file(tmp_path: Path) -> None:
    folder = tmp_path / "arts"
    (folder / "2024").mkdir(parents=True)
    (folder / "2024" / "bridge.txt").write_text(CTX_EN, encoding="utf-8")
    write_jsonl(folder / "more.jsonl", [{"id": "a1", "text": CTX_AR, "title": "نقل"}])
    arts = read_articles([folder], (".txt", ".jsonl"), 1_000_000)
    assert sorted(a.id for a in arts) == ["2024/bridge", "a1"]
    (folder / "broken.jsonl").write_text("{not json\n", encoding="utf-8")
    with pytest.raises(IngestError, match="broken.jsonl"):
        read_articles([folder], (".txt", ".jsonl"), 1_000_000)
    with pytest.raises(IngestError, match="does not exist"):
        read_articles([tmp_path / "nowhere"], (".txt",), 1_000_000)


def test_hold_out_withholds_few_articles_deterministically(tmp_path: Path) -> None:
    qs = load_squad(squad_file(tmp_path))
    outcomes = set()
    for seed in range(8):
        picked, withheld = hold_out(qs, 2, seed=seed)
        assert len(withheld) == 1 and {q.article_id for q in picked} == withheld  # one stays in the index
        # all questions of the withheld article are taken (up to 2): 2 for the Arabic one, 1 for the English
        assert len(picked) == (2 if withheld == {"mini:0001"} else 1)
        assert hold_out(qs, 2, seed=seed) == (picked, withheld)  # deterministic
        outcomes.add(frozenset(withheld))
    assert len(outcomes) == 2  # the seed decides which
    # at least one article always stays in the index
    many, kept_out = hold_out(qs, 10, seed=1)
    assert len(kept_out) == 1 and len(many) < 10
    assert hold_out(qs, 0) == ([], set())


def test_hold_out_withholds_every_paragraph_of_the_same_source_document(tmp_path: Path) -> None:
    """SQuAD paragraphs under one title come from one page: a sibling paragraph may answer the question."""
    data = {"version": "1.1", "data": [
        {"title": "Bridge", "paragraphs": [
            {"context": CTX_EN, "qas": [{"id": "b1", "question": "When did work begin?",
                                         "answers": [{"text": "2019", "answer_start": CTX_EN.index("2019")}]}]},
            {"context": "Work on the bridge began in 2019. It has four lanes.", "qas": [
                {"id": "b2", "question": "How many lanes?", "answers": [{"text": "four", "answer_start": 38}]}]},
        ]},
        {"title": "Transport", "paragraphs": [{"context": CTX_AR, "qas": [
            {"id": "t1", "question": "كم الكلفة؟", "answers": [{"text": "5 مليارات", "answer_start": CTX_AR.index("5")}]}]}]},
    ]}
    path = tmp_path / "pages.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    qs = load_squad(path)
    for seed in range(6):
        picked, withheld = hold_out(qs, 1, seed=seed)
        assert len(picked) == 1
        if picked[0].id.startswith("b"):
            assert withheld == {"pages:0001", "pages:0002"}  # both paragraphs of the page
        else:
            assert withheld == {"pages:0003"}
        assert len(withheld) < len(qs.articles)  # one page always stays


def pages_file(tmp_path: Path) -> Path:
    """Three documents: "Bridge" (3 paragraphs, 2 questions each), "Park" (2 paragraphs, 1 question each),
    "Solo" (1 paragraph, 3 questions)."""
    def para(pid: str, n: int) -> dict:
        ctx = f"Paragraph {pid} says something. It has a second sentence about {pid}."
        return {"context": ctx, "qas": [{"id": f"{pid}-q{i}", "question": f"What about {pid} {i}?",
                                         "answers": [{"text": pid, "answer_start": ctx.index(pid)}]}
                                        for i in range(1, n + 1)]}
    data = {"version": "1.1", "data": [
        {"title": "Bridge", "paragraphs": [para("b1", 2), para("b2", 2), para("b3", 2)]},
        {"title": "Solo", "paragraphs": [para("s1", 3)]},
        {"title": "Park", "paragraphs": [para("p1", 1), para("p2", 1)]},
    ]}
    path = tmp_path / "pages.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_on_topic_hold_out_keeps_a_sibling_paragraph_and_is_deterministic(tmp_path: Path) -> None:
    qs = load_squad(pages_file(tmp_path))
    title = {a.id: a.title for a in qs.articles}
    bridge = {a.id for a in qs.articles if a.title == "Bridge"}
    park = {a.id for a in qs.articles if a.title == "Park"}
    choices = set()
    for seed in range(10):
        picked, withheld = on_topic_hold_out(qs, 3, seed=seed)
        assert on_topic_hold_out(qs, 3, seed=seed) == (picked, withheld)  # deterministic for a seed
        choices.add(frozenset(withheld))
        assert len(picked) == 3 and {q.article_id for q in picked} == withheld
        assert "pages:0004" not in withheld  # "Solo" has one paragraph: never used
        # the first round takes one paragraph of each document with two or more
        assert len(withheld & bridge) == 1 and len(withheld & park) == 1
        for aid in withheld:  # every withheld paragraph's document keeps another paragraph
            assert any(a.id not in withheld and a.title == title[aid] for a in qs.articles)
        # every question of the withheld paragraphs (here 2 + 1)
        assert sorted(q.id for q in picked) == sorted(q.id for q in qs.questions if q.article_id in withheld)
    assert len(choices) > 2  # the seed decides which paragraphs
    # as many as can be asked: two of Bridge's three paragraphs and one of Park's two
    everything, most = on_topic_hold_out(qs, 100, seed=1)
    assert len(most & bridge) == 2 and len(most & park) == 1 and len(everything) == 2 + 2 + 1
    assert on_topic_hold_out(qs, 0) == ([], set())


def test_on_topic_hold_out_needs_a_document_with_two_paragraphs(tmp_path: Path) -> None:
    qs = load_squad(squad_file(tmp_path))  # two titles, one paragraph each
    assert on_topic_hold_out(qs, 5, seed=0) == ([], set())


def test_first_articles_keeps_only_their_questions(tmp_path: Path) -> None:
    qs = first_articles(load_squad(squad_file(tmp_path)), 1)
    assert [a.id for a in qs.articles] == ["mini:0001"]
    assert {q.id for q in qs.questions} == {"q-ar", "q-en-ar"}


def test_real_dev_set_gold_sentences_hold_their_answers() -> None:
    qs = load_squad(shared_qa("xquad-dev.ar"))
    assert len(qs.articles) == 40 and len(qs.questions) == 230
    assert all(q.gold_sentence_ids and q.pair == "ar→ar" for q in qs.questions)
    held = sum(any(a in t for a in q.answers for t in q.gold_texts) for q in qs.questions)
    assert held == len(qs.questions)  # the answer text lies inside the sentence located from its offset
