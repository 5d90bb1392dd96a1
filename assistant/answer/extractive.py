"""Extractive answers: the best sentences, cited, with a lead-in in the question's language.

The offline default needs no LLM. The program picks and numbers the citations; nothing is trusted
from a model. Abstention: when the evidence is too weak (decided by assistant/retrieve/refusal.py,
calibrated per embedding model and language pair; ``answer.min_score`` replaces it with a fixed
threshold), the answer says the articles do not answer it, in the question's language.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from assistant.answer.answerer import AnswerRequest, ArticleLookup
from assistant.answer.followup import standalone_question
from assistant.settings import AnswerSettings
from assistant.text.normalize import normalize
from assistant.types import Answer, AnswerMode, ArticleInfo, Citation, Passage, ShortAnswer, StreamEvent

if TYPE_CHECKING:
    from assistant.answer.short import ShortAnswers

__all__ = [
    "ExtractiveAnswerer", "extractive_answer", "select_citations", "make_citations", "abstention", "short_line",
]

_LEAD = {
    ("ar", "ar"): "بحسب المقالات:",
    ("ar", "en"): "بحسب المقالات (بالإنجليزية):",
    ("ar", "mixed"): "بحسب المقالات:",
    ("en", "en"): "According to the articles:",
    ("en", "ar"): "According to the articles (quoted in Arabic):",
    ("en", "mixed"): "According to the articles:",
}
_ABSTAIN = {
    "ar": "لا تجيب المقالات المتاحة عن هذا السؤال.",
    "en": "The available articles do not answer this question.",
}
_QUOTED = {"ar": " (بالإنجليزية)", "en": " (in Arabic)"}  # a short answer not in the question's language
_MACHINE = {"ar": " (ترجمة آلية)", "en": " (machine translation)"}
_CONVERTED = {"ar": " (محوّل من الإنجليزية)", "en": " (converted from Arabic)"}  # by rules, exact
_EMPTY = {
    "ar": "لا توجد مقالات في هذه المجموعة بعد. أضف مقالات ثم اسأل.",
    "en": "There are no articles in this collection yet. Add some, then ask.",
}
_FILTERED = {
    "ar": "لا توجد مقالات تطابق المرشحات المختارة (المصدر أو التاريخ أو اللغة أو المقالات).",
    "en": "No article matches the chosen filters (source, date, language or articles).",
}


def select_citations(passages: list[Passage], settings: AnswerSettings, max_citations: int | None = None) -> list[Passage]:
    """The passages worth citing: the best one, then others close to it, without repeated text."""
    if not passages:
        return []
    limit = max_citations or settings.max_citations
    best = passages[0].score
    chosen: list[Passage] = []
    seen: set[str] = set()
    for p in passages:
        if len(chosen) >= limit:
            break
        if chosen and p.score < settings.relative_cutoff * best:
            break
        key = normalize(p.sentence.text)
        if key in seen:
            continue
        seen.add(key)
        chosen.append(p)
    return chosen


def make_citations(passages: Sequence[Passage], infos: Mapping[str, ArticleInfo]) -> list[Citation]:
    out = []
    for n, p in enumerate(passages, 1):
        s = p.sentence
        info = infos.get(s.article_id)
        out.append(
            Citation(
                n=n, article_id=s.article_id, sentence_id=s.id, text=s.text, start=s.start, end=s.end,
                score=round(p.score, 6), title=info.title if info else None, source=info.source if info else None,
                date=info.date if info else None, lang=info.lang if info else None,
            )
        )
    return out


def abstention(question: str, lang: str, passages: list[Passage], *, empty: bool = False, filtered: bool = False,
               **extra: object) -> Answer:
    """No answer: the articles do not answer; or (``empty``) there are none; or (``filtered``) none
    matches the question's filters."""
    text = (_FILTERED if filtered else _EMPTY if empty else _ABSTAIN)[lang]
    return Answer(
        question=question, text=text, citations=[], abstained=True, lang=lang,
        passages=passages, **extra,  # type: ignore[arg-type]
    )


def short_line(short: ShortAnswer, lang: str, citations: Sequence[Citation]) -> str:
    """The first line of an answer that has a short one: its words (or their translation, marked as machine
    translation, or their conversion by rules, marked as such unless it reads the same, as digits do) and
    its citation marker; words quoted in another language say which."""
    key = lang if lang in _MACHINE else "en"
    if short.translation and short.translated_by == "rules":
        same = " ".join(short.translation.split()) == " ".join(short.text.split())
        return f"{short.translation}{'' if same else _CONVERTED[key]} [{short.n}]"
    if short.translation:
        return f"{short.translation}{_MACHINE[key]} [{short.n}]"
    source = next((c.lang for c in citations if c.n == short.n), None)
    quoted = _QUOTED.get(lang, "") if source and source != lang else ""
    return f"{short.text}{quoted} [{short.n}]"


def extractive_answer(
    question: str,
    lang: str,
    passages: list[Passage],
    articles: ArticleLookup,
    settings: AnswerSettings,
    abstain: bool,
    max_citations: int | None = None,
    short: ShortAnswers | None = None,
    asked: str | None = None,
    translate: bool = True,
    **extra: Any,
) -> Answer:
    """Quote the best sentences with [n] markers, or abstain (``abstain``: the evidence is too weak); with
    ``short``, the answer leads with the short answer it finds in them for ``asked`` (the standalone form of
    a follow-up; default ``question``), timed as ``timings["short"]``; ``translate=False``: no call to the LLM
    to translate it (the LLM has just failed)."""
    if not passages or abstain:
        return abstention(question, lang, passages, **extra)
    chosen = select_citations(passages, settings, max_citations)
    citations = make_citations(chosen, articles(p.sentence.article_id for p in chosen))
    found: ShortAnswer | None = None
    if short is not None:
        t = time.perf_counter()
        found = short.find(asked or question, lang, citations, translate=translate)
        timings = extra.get("timings")
        if isinstance(timings, dict):
            timings["short"] = round(time.perf_counter() - t, 4)
    source_langs = {c.lang for c in citations}
    src = source_langs.pop() if len(source_langs) == 1 else "mixed"
    lead = _LEAD.get((lang, src or "mixed"), _LEAD[(lang, "mixed")])
    lines = ([short_line(found, lang, citations)] if found else []) + [lead] + [f"- {c.text} [{c.n}]" for c in citations]
    return Answer(
        question=question, text="\n".join(lines), citations=citations, abstained=False, lang=lang,
        mode="extractive", passages=passages, short=found, **extra,
    )


class ExtractiveAnswerer:
    """The extractive mode as an :class:`~assistant.answer.answerer.Answerer`: quotes the best sentences;
    follow-ups are made standalone by the heuristic of assistant/answer/followup.py."""

    mode: AnswerMode = "extractive"

    def __init__(self, settings: AnswerSettings, articles: ArticleLookup, short: ShortAnswers | None = None):
        self.settings = settings
        self.articles = articles
        self.short = short

    def standalone(self, question: str, history: Sequence[str]) -> str:
        return standalone_question(question, [h for h in history if h.strip()])

    def answer(self, request: AnswerRequest, *, notice: str | None = None,
               timings: dict[str, float] | None = None, translate: bool = True) -> Answer:
        """The extractive answer (or abstention) for ``request``; ``timings`` gets its ``total``."""
        r = request
        timings = dict(timings) if timings is not None else {"retrieve": round(r.retrieved - r.started, 4)}
        extra: dict[str, object] = {"timings": timings, "standalone_question": r.standalone_question}
        if notice is not None:
            extra["notice"] = notice
        ans = extractive_answer(r.question, r.lang, r.passages, self.articles, self.settings, r.abstain,
                                r.max_citations, self.short, r.asked, translate, **extra)
        timings["total"] = round(time.perf_counter() - r.started, 4)
        return ans

    def stream(self, request: AnswerRequest) -> Iterator[StreamEvent]:
        ans = self.answer(request)
        for line in ans.text.split("\n"):
            yield StreamEvent(delta=line + "\n")
        yield StreamEvent(answer=ans)
