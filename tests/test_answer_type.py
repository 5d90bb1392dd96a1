"""Answer-type evidence (assistant/retrieve/answer_type.py) and the retriever's bonus built on it, on
sentences written for these tests."""

from __future__ import annotations

import pytest

from assistant.retrieve.answer_type import novel_type_evidence, question_type, typed_spans


@pytest.mark.parametrize(("question", "kind"), [
    ("كم عدد الجنود الأمريكيين في أفغانستان؟", "count"),
    ("وكم كان عمره عندما توفي؟", "count"),
    ("ما عدد سكان القاهرة؟", "count"),
    ("متى أسقطت إيران الطائرة الأمريكية المسيرة؟", "date"),
    ("في أي عام تأسست الجامعة؟", "date"),
    ("من هو رئيس الوزراء الحالي؟", "person"),
    ("من قاد الثورة؟", "person"),
    ("أين تقع مدينة آخن؟", "place"),
    ("في أي مدينة ولد؟", "place"),
    ("ما هي عاصمة موزمبيق؟", "other"),
    ("How many troops remain in Afghanistan?", "count"),
    ("How old was Manning at Super Bowl 50?", "count"),
    ("When did the Berlin Wall fall?", "date"),
    ("In what year was the university founded?", "date"),
    ("Who designed the Eiffel Tower?", "person"),
    ("Where is the Caspian Sea?", "place"),
    ("What is the capital of Canada?", "other"),
])
def test_question_types(question: str, kind: str) -> None:
    assert question_type(question) == kind


def _spans(sentence: str) -> list[tuple[str, str]]:
    return [(kind, sentence[s:e]) for kind, s, e in typed_spans(sentence)]


def test_numbers_keep_their_scale_words_and_dates_their_two_month_names() -> None:
    s = "أرسلت الولايات المتحدة أكثر من 20 ألف جندي في يونيو/ حزيران 2019 إلى المنطقة."
    assert _spans(s) == [("count", "20 ألف"), ("date", "يونيو/ حزيران 2019")]
    assert _spans("ولد عام 1923م. وتوفي بعد ثلاثة أعوام") == [("date", "1923م"), ("count", "ثلاثة")]
    assert ("count", "وأربعة") in _spans("سجل 5 أهداف، وأربعة مرات صنع الفرص")


def test_english_numbers_dates_and_names() -> None:
    s = "The Broncos beat the Carolina Panthers 24–10 in February 2016, said Peyton Manning."
    assert _spans(s) == [("person", "Broncos"), ("person", "Carolina Panthers"), ("count", "24"), ("count", "10"),
                         ("date", "February 2016"), ("person", "Peyton Manning")]
    assert _spans("It cost three million dollars on March 24, 1976.") == [("count", "three million"),
                                                                          ("date", "March 24, 1976")]


def test_evidence_counts_only_what_the_question_lacks() -> None:
    q = "كم عدد الجنود الذين أرسلتهم الولايات المتحدة عام 2019؟"
    assert novel_type_evidence("count", q, "أرسلت الولايات المتحدة 20 ألف جندي عام 2019.") == 1.0
    assert novel_type_evidence("count", q, "أرسلت الولايات المتحدة جنودا عام 2019.") == 0.0  # only the question's year
    assert novel_type_evidence("date", "When did the harbour open?", "The harbour opened in March 2021.") == 1.0
    assert novel_type_evidence("date", "When did the harbour open?", "The harbour is large.") == 0.0
    assert novel_type_evidence("person", "Who met Peyton Manning?", "Peyton Manning met the press.") == 0.0
    assert novel_type_evidence("person", "Who met Peyton Manning?", "Peyton Manning met John Elway.") == 1.0
    assert novel_type_evidence("other", "What is it?", "It is 20 metres long.") == 0.0


def test_the_retriever_moves_a_sentence_with_the_asked_for_number_up(tmp_path, fake_embedder, fake_settings) -> None:  # noqa: ANN001
    """Real Chroma and BM25 over the fake embedder: the paraphrase of the question wins on similarity,
    the sentence holding the count wins once the answer-type bonus applies, and only then."""
    from assistant import Article, Assistant

    art = Article(id="port", title="Port", text=(
        "Officials counted how many ships the new harbour of the port city can take. "
        "The harbour can take 12 vessels."))
    question = "How many ships can the new harbour of the port city take?"
    with Assistant.open(tmp_path / "plain", settings=fake_settings, embedder=fake_embedder) as a:
        a.add([art])
        plain = a.search(question, 2)
    assert plain[0].sentence.index == 0 and plain[0].answer_type == 0.0
    boosted_settings = fake_settings.replace(retrieval={"answer_type_weight": 1.0})
    with Assistant.open(tmp_path / "boosted", settings=boosted_settings, embedder=fake_embedder) as a:
        a.add([art])
        boosted = a.search(question, 2)
    assert boosted[0].sentence.index == 1 and boosted[0].answer_type == 1.0
    assert boosted[0].score == pytest.approx(plain[1].score + 1.0)
