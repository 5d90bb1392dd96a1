"""Offsets into the text as supplied (issue 14): for an ``Article`` and for .txt, .json and .jsonl files,
``Assistant.article()`` returns the text exactly as given, every sentence and citation indexes it, and the
sentence ids are the ones the evaluator computes from that text; converted formats (HTML, Markdown) index
their extracted text, cleaned. Fast tier: the fake embedder at the model boundary (tests/fakes.py), a real
Chroma and BM25.
"""

from __future__ import annotations

import json
from pathlib import Path

from assistant import Article, Assistant
from assistant.evaluation.qasets import load_squad
from assistant.text.characters import INVISIBLE_FORMAT
from assistant.text.sentences import split_article

# what a copy from a web page brings: a BOM, a zero-width space inside a word, a right-to-left override
# around a phrase, Windows line ends, a word joiner
HOSTILE = ("\ufeffThe harbour master counted 4711 ships near the old light\u200bhouse.\r\n"
           "Observers \u202ewrote the opposite\u202c later in Kabul.\r\n"
           "وقال المتحدث إن المحادثات\u2060 ستستأنف يوم الاثنين في الدوحة.\r\n")


def _exact(a: Assistant, aid: str, supplied: str) -> None:
    _, stored = a.article(aid)
    assert stored == supplied
    sents = a.index.catalog.sentences_of(aid)
    assert sents and all(supplied[s.start : s.end] == s.text for s in sents)
    assert [s.id for s in sents] == [s.id for s in split_article(aid, supplied)]


def test_an_article_is_stored_as_supplied_and_citations_index_it(fake_assistant: Assistant) -> None:
    rep = fake_assistant.add(Article(id="web", text=HOSTILE, title="T\u202eitle"))
    assert rep.added == ["web"]
    _exact(fake_assistant, "web", HOSTILE)
    ans = fake_assistant.ask("How many ships did the harbour master count near the old lighthouse?",
                             retriever="bm25")
    assert ans.citations and not INVISIBLE_FORMAT.search(ans.text)
    for c in ans.citations:
        assert HOSTILE[c.start : c.end] == c.text
    assert any("light\u200bhouse" in c.text for c in ans.citations)  # the slice, with the zero-width space
    assert fake_assistant.articles()[0].title == "Title"  # metadata is only shown: cleaned


def test_txt_json_and_jsonl_files_keep_their_text(fake_assistant: Assistant, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_bytes(b"\xef\xbb\xbf" + HOSTILE.encode("utf-8"))  # a UTF-8 BOM file: the BOM is the encoding's
    (folder / "b.json").write_text(json.dumps({"id": "b", "text": HOSTILE}), encoding="utf-8")
    (folder / "c.jsonl").write_text(json.dumps({"id": "c", "text": HOSTILE}) + "\n", encoding="utf-8")
    rep = fake_assistant.add([folder])
    assert not rep.failed and len(rep.added) == 3
    ids = {i.id for i in fake_assistant.articles()}
    assert ids == {"a", "b", "c"}  # a.txt's id is its file stem
    txt = "a"
    _exact(fake_assistant, txt, HOSTILE)  # decoded with utf-8-sig: the file's BOM is gone, the text's own stays
    assert fake_assistant.article(txt)[1].startswith("\ufeffThe harbour")
    for aid in ids:
        if aid != txt:
            _exact(fake_assistant, aid, HOSTILE)


def test_converted_formats_index_their_extracted_text_cleaned(fake_assistant: Assistant, tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text(f"<html><body><p>{HOSTILE.replace(chr(13), '')}</p></body></html>", encoding="utf-8")
    rep = fake_assistant.add([page])
    [aid] = rep.added
    _, stored = fake_assistant.article(aid)
    assert not INVISIBLE_FORMAT.search(stored) and "\r" not in stored and "lighthouse" in stored
    assert all(stored[s.start : s.end] == s.text for s in fake_assistant.index.catalog.sentences_of(aid))


def test_the_evaluators_gold_ids_are_the_indexed_ids(fake_assistant: Assistant, tmp_path: Path) -> None:
    context = HOSTILE
    answer = "4711 ships"
    squad = {"data": [{"title": "t", "paragraphs": [{"context": context, "qas": [
        {"id": "q1", "question": "How many ships?", "answers": [{"text": answer, "answer_start": context.index(answer)}]},
        {"id": "q2", "question": "What did observers write?",
         "answers": [{"text": "wrote", "answer_start": context.index("wrote")}]},
    ]}]}]}
    path = tmp_path / "set.json"
    path.write_text(json.dumps(squad, ensure_ascii=False), encoding="utf-8")
    qset = load_squad(path)
    fake_assistant.add(qset.articles)
    [art] = qset.articles
    indexed = {s.id: s for s in fake_assistant.index.catalog.sentences_of(art.id)}
    for q in qset.questions:
        assert q.gold_sentence_ids and all(g in indexed for g in q.gold_sentence_ids)
    assert answer in indexed[qset.questions[0].gold_sentence_ids[0]].text
    assert "wrote" in indexed[qset.questions[1].gold_sentence_ids[0]].text
