"""Short answers: the rules extractor, the snapping of an LLM reply, the producers, the answer that leads
with the short answer, and the answer normalization of the metric. Fast tier except the last tests,
which run the trained span reader on the real model (slow)."""

from __future__ import annotations

import pytest

from assistant.answer.extractive import extractive_answer
from assistant.answer.short import ShortAnswers, build_short_answers
from assistant.answer.short.producers import LLMProducer, RulesProducer, Translator, short_from
from assistant.answer.short.rules import rule_span
from assistant.answer.short.snap import snap
from assistant.errors import ConfigError, LLMError
from assistant.evaluation.metrics import exact_match, f1_score
from assistant.settings import AnswerSettings, LLMSettings
from assistant.text.answer_match import normalize_answer
from assistant.types import ArticleInfo, Citation, Passage, Sentence, ShortAnswer
from tests.fakes import FakeEmbedder, Scripted

ARTICLE = ("قال مسؤولون إن الاتصالات جرت عبر قناة سرية. "
           "وأسقطت إيران طائرة أمريكية مسيرة في يونيو/ حزيران 2019 فوق مضيق هرمز. "
           "ويوجد في أفغانستان أكثر من 20 ألف جندي أجنبي، معظمهم أمريكيون.")


def _rule(question: str, sentence: str) -> str | None:
    g = rule_span(question, sentence)
    return None if g is None else sentence[g.start:g.end]


@pytest.mark.parametrize("question,sentence,expected", [
    ("كم عدد الجنود الأجانب في أفغانستان؟", "ويوجد في أفغانستان أكثر من 20 ألف جندي أجنبي، معظمهم أمريكيون.", "20 ألف جندي"),
    ("متى أسقطت إيران الطائرة الأمريكية المسيرة؟", "وأسقطت إيران طائرة أمريكية مسيرة في يونيو/ حزيران 2019 فوق مضيق هرمز.",
     "يونيو/ حزيران 2019"),
    ("في أي عام تأسست الشركة؟", "تأسست الشركة عام 1923م في القاهرة.", "1923م"),
    ("كم يبلغ عدد سكان المدينة؟", "يبلغ عدد سكان المدينة ثلاثة ملايين نسمة.", "ثلاثة ملايين نسمة"),
    ("How many troops are in Afghanistan?", "More than 20,000 soldiers serve in Afghanistan today.", "20,000 soldiers"),
    ("When did Iran shoot down the drone?", "Iran shot down the drone in June 2019 over the Strait of Hormuz.",
     "June 2019"),
    ("Who led the talks for the United States?", "The talks were led by Zalmay Khalilzad, the special envoy.",
     "Zalmay Khalilzad"),
    ("ما اسم المضيق الذي حلقت فوقه الطائرة؟", "وحلقت الطائرة فوق مضيق هرمز قبل إسقاطها.", "هرمز قبل إسقاطها"),
])
def test_rules_take_what_the_question_asks_for_and_lacks(question: str, sentence: str, expected: str) -> None:
    assert _rule(question, sentence) == expected


def test_rules_skip_a_number_the_question_already_holds() -> None:
    # "2019" is in the question: the answer is the other number
    assert _rule("كم طائرة أسقطت إيران في 2019؟", "أسقطت إيران في 2019 ثلاث طائرات مسيرة.") == "ثلاث طائرات"


def test_rules_find_nothing_when_the_sentence_only_repeats_the_question() -> None:
    assert rule_span("أين تقع مدينة القاهرة؟", "مدينة القاهرة.") is None


@pytest.mark.parametrize("reply,expected", [
    ("يونيو حزيران 2019", "يونيو/ حزيران 2019"),  # punctuation lost by the model: found again
    ("في يونيو/ حزيران 2019", "في يونيو/ حزيران 2019"),
    ("الطائره المسيره", "طائرة أمريكية مسيرة"),  # letter forms and ال differ; closest words of the sentence
])
def test_snap_maps_a_reply_onto_words_of_the_sentence(reply: str, expected: str) -> None:
    sentence = "وأسقطت إيران طائرة أمريكية مسيرة في يونيو/ حزيران 2019 فوق مضيق هرمز."
    hit = snap(reply, sentence)
    assert hit is not None
    assert sentence[hit[0]:hit[1]] == expected


@pytest.mark.parametrize("reply", ["", "NO_ANSWER", "June 2019", "واشنطن", "The drone was shot down by Russia"])
def test_snap_drops_a_reply_that_is_not_in_the_sentence(reply: str) -> None:
    assert snap(reply, "وأسقطت إيران طائرة أمريكية مسيرة في يونيو/ حزيران 2019 فوق مضيق هرمز.") is None


@pytest.mark.parametrize("a,b", [
    ("والحكومة", "الحكومة"), ("الحكومة", "حكومه"), ("يونيو/ حزيران", "يونيو حزيران"), ("إيران", "ايران"),
    ("مُسَيَّرة", "مسيره"), ("مـسـيرة", "مسيرة"), ("٢٠١٩", "2019"), ("مستشفى", "مستشفي"), ("The U.S.", "us"),
])
def test_answer_normalization_folds_arabic_forms(a: str, b: str) -> None:
    assert normalize_answer(a) == normalize_answer(b)
    assert exact_match(a, [b]) == 1.0


def test_answer_normalization_keeps_words_that_only_start_with_waw() -> None:
    assert normalize_answer("وزير") == "وزير"  # not the proclitic: four letters would be left too few
    assert f1_score("وزير الخارجية", ["زير"]) == 0.0


def _citations() -> list[Citation]:
    out = []
    first, second = ARTICLE.index("وأسقطت"), ARTICLE.index("ويوجد")
    for n, (s, e) in enumerate([(first, second - 1), (second, len(ARTICLE))], 1):
        out.append(Citation(n=n, article_id="a1", sentence_id=f"a1:{n}", text=ARTICLE[s:e], start=s, end=e,
                            score=0.9, lang="ar"))
    return out


def test_a_short_answer_indexes_the_article_exactly() -> None:
    cites = _citations()
    short = RulesProducer(0.3).produce("متى أسقطت إيران الطائرة؟", cites)
    assert short is not None and short.method == "rules" and short.n == 1
    assert ARTICLE[short.start:short.end] == short.text == "يونيو/ حزيران 2019"
    assert cites[0].start <= short.start < short.end <= cites[0].end


def test_llm_producer_snaps_the_reply_and_drops_an_invented_one() -> None:
    cites = _citations()
    chat = Scripted("يونيو حزيران 2019\n", "في شهر مارس", "NO_ANSWER", LLMError("server down"))
    producer = LLMProducer(chat, LLMSettings())
    short = producer.produce("متى أسقطت إيران الطائرة؟", cites)
    assert short is not None and short.text == "يونيو/ حزيران 2019" and ARTICLE[short.start:short.end] == short.text
    assert "يونيو/ حزيران 2019" in chat.calls[0][1][1]  # the sentence went into the prompt
    assert producer.produce("متى أسقطت إيران الطائرة؟", cites) is None  # not in the sentence: dropped
    assert producer.produce("متى أسقطت إيران الطائرة؟", cites) is None  # NO_ANSWER
    assert producer.produce("متى أسقطت إيران الطائرة؟", cites) is None  # the LLM failed: no short answer


class Words:
    """A producer that answers with given words of the cited sentences (the producer is not under test)."""

    method = "fixed"

    def __init__(self, words: str):
        self.words = words

    def produce(self, question: str, citations: list[Citation]) -> ShortAnswer | None:
        c = next(c for c in citations if self.words in c.text)
        start = c.text.index(self.words)
        return short_from(c, start, start + len(self.words), 0.9, self.method)


def test_translation_is_added_for_a_question_in_another_language() -> None:
    chat = Scripted("20,000 soldiers")
    finder = ShortAnswers(Words("20 ألف جندي"), Translator(chat, LLMSettings()))
    short = finder.find("How many foreign soldiers are in Afghanistan?", "en", _citations())
    # "جندي" (soldier) is no word the rules convert: the whole span is not covered, the model translates it
    assert short is not None and short.text == "20 ألف جندي" and short.translation == "20,000 soldiers"
    assert short.translated_by == "llm" and len(chat.calls) == 1
    same_lang = ShortAnswers(RulesProducer(0.3), Translator(Scripted(), LLMSettings()))
    assert same_lang.find("متى أسقطت إيران الطائرة؟", "ar", _citations()).translation is None  # no LLM call


def test_a_date_is_converted_by_rules_before_any_model_is_asked() -> None:
    chat = Scripted()  # would fail if called
    finder = ShortAnswers(RulesProducer(0.3), Translator(chat, LLMSettings()))
    short = finder.find("When did Iran shoot down the drone?", "en", _citations())
    assert short is not None and short.text == "يونيو/ حزيران 2019"
    assert (short.translation, short.translated_by) == ("June 2019", "rules") and chat.calls == []
    alone = ShortAnswers(RulesProducer(0.3)).find("When did Iran shoot down the drone?", "en", _citations())
    assert alone is not None and alone.translation == "June 2019"  # no LLM configured: the rules still apply


def _passages() -> list[Passage]:
    out = []
    for i, c in enumerate(_citations()):
        s = Sentence(id=c.sentence_id, article_id="a1", index=i, start=c.start, end=c.end, text=c.text)
        out.append(Passage(sentence=s, score=0.9 - i * 0.01, dense=0.9, context=0.0, lexical=0.0))
    return out


def _infos(ids) -> dict[str, ArticleInfo]:  # noqa: ANN001
    return {i: ArticleInfo(id=i, title=None, source=None, date=None, lang="ar", n_sentences=3, path=None,
                           content_hash="x") for i in ids}


def test_the_answer_leads_with_the_short_answer_and_its_marker() -> None:
    finder = ShortAnswers(RulesProducer(0.3))
    timings: dict[str, float] = {}
    ans = extractive_answer("متى أسقطت إيران الطائرة الأمريكية؟", "ar", _passages(), _infos, AnswerSettings(),
                            False, short=finder, timings=timings)
    assert ans.short is not None and ans.text.splitlines()[0] == "يونيو/ حزيران 2019 [1]"
    assert ans.text.splitlines()[1] == "بحسب المقالات:"
    assert "short" in timings and ans.to_dict()["short"]["text"] == "يونيو/ حزيران 2019"
    en = extractive_answer("When did Iran shoot down the drone?", "en", _passages(), _infos, AnswerSettings(),
                           False, short=finder)
    assert en.text.splitlines()[0] == "June 2019 (converted from Arabic) [1]"
    quoted = extractive_answer("How many foreign soldiers are in Afghanistan?", "en", _passages(), _infos,
                               AnswerSettings(), False, short=ShortAnswers(Words("20 ألف جندي")))
    assert quoted.text.splitlines()[0] == "20 ألف جندي (in Arabic) [2]"  # not all of it converts: quoted
    none = extractive_answer("متى أسقطت إيران الطائرة؟", "ar", _passages(), _infos, AnswerSettings(), False)
    assert none.short is None and none.text.startswith("بحسب المقالات:")


def test_build_picks_the_rules_for_a_model_the_reader_was_not_trained_on() -> None:
    emb = FakeEmbedder()
    assert build_short_answers(AnswerSettings(), LLMSettings(), emb, None).method == "rules"
    assert build_short_answers(AnswerSettings(short_producer="none"), LLMSettings(), emb, None) is None
    with pytest.raises(ConfigError, match="no LLM is configured"):
        build_short_answers(AnswerSettings(short_producer="llm"), LLMSettings(), emb, None)
    with pytest.raises(ConfigError, match="sentence-transformers embedder|trained on"):
        build_short_answers(AnswerSettings(short_producer="reader"), LLMSettings(), emb, None)


def test_fake_assistant_answers_carry_exact_short_offsets(fake_assistant) -> None:  # noqa: ANN001
    from assistant import Article

    fake_assistant.add([Article(id="a1", text=ARTICLE, lang="ar")])
    ans = fake_assistant.ask("متى أسقطت إيران طائرة أمريكية مسيرة؟")
    assert ans.short is not None
    _, text = fake_assistant.article(ans.short.article_id)
    assert text[ans.short.start:ans.short.end] == ans.short.text


# --- the trained span reader on the real model (slow) ---------------------------------------------
@pytest.mark.parametrize("question,sentence,expected", [
    ("متى أسقطت إيران الطائرة الأمريكية المسيرة؟", "وأسقطت إيران طائرة أمريكية مسيرة في يونيو/ حزيران 2019 فوق مضيق هرمز.",
     "2019"),
    ("كم عدد الجنود الأجانب في أفغانستان؟", "ويوجد في أفغانستان أكثر من 20 ألف جندي أجنبي، معظمهم أمريكيون.", "20 ألف"),
    ("How many foreign troops are in Afghanistan?", "There are more than 20,000 foreign troops in Afghanistan.",
     "20,000"),
])
def test_span_reader_finds_the_answer_words(embedder, settings, question: str, sentence: str, expected: str) -> None:  # noqa: ANN001
    finder = build_short_answers(settings.answer, settings.llm, embedder, None)
    assert finder.method == "reader"
    cite = Citation(n=1, article_id="x", sentence_id="x:0", text=sentence, start=10, end=10 + len(sentence), score=1.0)
    short = finder.producer.produce(question, [cite])
    assert short is not None and expected in short.text and len(short.text) < len(sentence) / 2
    assert sentence[short.start - 10:short.end - 10] == short.text


# --- the evaluator's short-answer scores ---------------------------------------------------------
def test_evaluator_scores_the_short_answer_beside_the_whole_answer(tmp_path) -> None:  # noqa: ANN001
    import json

    from assistant.evaluation.qasets import Question, QuestionSet, with_parallel_answers
    from assistant.evaluation.results import score_answer, summarize

    finder = ShortAnswers(RulesProducer(0.3))
    q = Question(id="q1", question="متى أسقطت إيران الطائرة؟", answers=["يونيو/ حزيران 2019"], article_id="a1",
                 gold_sentence_ids=["a1:1"], lang="ar", article_lang="ar")
    qs = with_parallel_answers(QuestionSet("s", [], [q]), _squad(tmp_path, {"q1": ["June 2019"]}))
    q = qs.questions[0]
    with_short = extractive_answer(q.question, "ar", _passages(), _infos, AnswerSettings(), False, short=finder)
    without = extractive_answer(q.question, "ar", _passages(), _infos, AnswerSettings(), False)
    r1 = score_answer(q, with_short, [], 0.1, 3, "answerable")
    r2 = score_answer(q, without, [], 0.1, 3, "answerable")
    assert r1.short_em == 1.0 and r1.short_f1 == 1.0 and r1.short["text"] == "يونيو/ حزيران 2019"
    assert r1.f1 == r2.f1 == r2.short_f1 < 0.5  # the whole answer: the baseline, the same in both runs
    # against the English gold, the Arabic words share only "2019": P 1/3, R 1/2
    assert r1.answers_other == ["June 2019"] and r1.short_f1_other == pytest.approx(0.4)
    m = summarize([r1, r2])
    assert m.short_coverage == 0.5 and m.short_f1_covered == 1.0
    assert m.short_f1 == pytest.approx((1.0 + r2.f1) / 2)
    with pytest.raises(Exception, match="lacks 1 question ids"):
        with_parallel_answers(QuestionSet("s", [], [q]), _squad(tmp_path, {"other": ["x"]}))
    json.dumps(r1.short)  # JSON-ready


def _squad(tmp_path, answers: dict[str, list[str]]):  # noqa: ANN001, ANN202
    import json

    path = tmp_path / f"parallel-{len(list(tmp_path.iterdir()))}.json"
    qas = [{"id": k, "question": "?", "answers": [{"text": t, "answer_start": 0} for t in v]} for k, v in answers.items()]
    path.write_text(json.dumps({"data": [{"title": "t", "paragraphs": [{"context": "c", "qas": qas}]}]}), encoding="utf-8")
    return path


def test_a_follow_up_gets_the_short_answer_of_its_standalone_question(fake_assistant) -> None:  # noqa: ANN001
    from assistant import Article

    class Recorder:  # the rules, recording the question they are given
        method = "rules"

        def __init__(self) -> None:
            self.asked: list[str] = []

        def produce(self, question, citations):  # noqa: ANN001, ANN201
            self.asked.append(question)
            return RulesProducer(0.3).produce(question, citations)

    fake_assistant.add([Article(id="a1", text=ARTICLE, lang="ar")])
    recorder = Recorder()
    fake_assistant.answerers["extractive"].short = ShortAnswers(recorder)
    ans = fake_assistant.ask("ومتى حدث ذلك؟", history=["أسقطت إيران طائرة أمريكية مسيرة فوق مضيق هرمز"])
    assert ans.standalone_question and ans.standalone_question != "ومتى حدث ذلك؟"
    assert recorder.asked == [ans.standalone_question]  # not the bare follow-up
