"""Scoring functions of the evaluation: pure (ids, texts and numbers in, numbers out) and unit-tested.

EM and F1 (with the answer normalization of assistant/text/answer_match.py, SQuAD's extended to Arabic), citation and retrieval hits, recall@k,
reciprocal rank, citation precision, percentiles. :mod:`assistant.evaluation.results` applies them to
one answer (:func:`~assistant.evaluation.results.score_answer`) and to groups of answers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence

from assistant.text.answer_match import answer_tokens, normalize_answer, token_f1
from assistant.text.normalize import normalize
from assistant.types import Answer

__all__ = [
    "RANK_K",
    "exact_match",
    "f1_score",
    "contains_answer",
    "holds_gold",
    "first_citation_hit",
    "any_citation_hit",
    "recall_at_k",
    "reciprocal_rank",
    "citation_precision",
    "percentile",
    "harmonic_mean",
    "answer_body",
]

RANK_K = 10  # retrieval recall@k and MRR@k are measured on the top 10 of Assistant.search

def exact_match(prediction: str, answers: Sequence[str]) -> float:
    """1.0 when the normalized prediction equals a normalized gold answer (SQuAD EM), else 0.0."""
    p = normalize_answer(prediction)
    return float(any(p == normalize_answer(a) for a in answers))


def f1_score(prediction: str, answers: Sequence[str]) -> float:
    """SQuAD token F1 between the normalized prediction and the best-matching gold answer."""
    if not answers:
        return 0.0
    p = answer_tokens(prediction)
    return max(token_f1(p, answer_tokens(a)) for a in answers)


def _fold(text: str) -> str:
    return " ".join(normalize(text).split())


def contains_answer(text: str, answers: Sequence[str]) -> bool:
    """A gold answer string occurs in ``text``, both folded by :func:`assistant.text.normalize.normalize`
    (Arabic letter forms, diacritics, digits, case) with whitespace collapsed."""
    folded = _fold(text)
    return any(_fold(a) and _fold(a) in folded for a in answers)


def holds_gold(sentence_id: str, sentence_text: str, gold_ids: Iterable[str], answers: Sequence[str]) -> bool:
    """A cited sentence "holds a gold answer" when it is a gold sentence (the one holding the gold answer
    start) OR it contains a gold answer string after Arabic normalization (the same fact stated twice)."""
    return sentence_id in set(gold_ids) or contains_answer(sentence_text, answers)


def first_citation_hit(cited_ids: Sequence[str], gold_ids: Iterable[str]) -> bool:
    """The first citation is a gold sentence (no citation: a miss)."""
    return bool(cited_ids) and cited_ids[0] in set(gold_ids)


def any_citation_hit(cited_ids: Sequence[str], gold_ids: Iterable[str], k: int) -> bool:
    """One of the first ``k`` citations is a gold sentence."""
    gold = set(gold_ids)
    return any(c in gold for c in cited_ids[:k])


def recall_at_k(ranked_ids: Sequence[str], gold_ids: Sequence[str], k: int = RANK_K) -> float:
    """Share of the gold sentences found in the top ``k`` of the ranking."""
    gold = set(gold_ids)
    if not gold:
        return 0.0
    return len(gold & set(ranked_ids[:k])) / len(gold)


def reciprocal_rank(ranked_ids: Sequence[str], gold_ids: Iterable[str], k: int = RANK_K) -> float:
    """1 / rank of the first gold sentence in the top ``k`` (0 when none is there); its mean is MRR@k."""
    gold = set(gold_ids)
    for rank, sid in enumerate(ranked_ids[:k], 1):
        if sid in gold:
            return 1.0 / rank
    return 0.0


def citation_precision(cited: Sequence[tuple[str, str]], gold_ids: Iterable[str], answers: Sequence[str]) -> float | None:
    """Share of cited (sentence id, text) pairs that hold a gold answer (:func:`holds_gold`); None
    when nothing is cited (an abstention has no precision)."""
    if not cited:
        return None
    gold = set(gold_ids)
    return sum(holds_gold(sid, text, gold, answers) for sid, text in cited) / len(cited)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100), linear between closest ranks; None for no values."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def harmonic_mean(a: float | None, b: float | None) -> float | None:
    """Harmonic mean of two rates (0 when either is 0; None when either is unknown)."""
    if a is None or b is None:
        return None
    return 0.0 if a + b == 0 else 2 * a * b / (a + b)


_MARKER = re.compile(r"\s*\[\d+\]")


def answer_body(answer: Answer) -> str:
    """The answer's own words, without lead-in, bullets or [n] markers: for an extractive answer, the
    cited sentences joined; for a generated one, its text without markers; "" for an abstention."""
    if answer.abstained:
        return ""
    if answer.mode == "extractive" or not answer.text.strip():
        return " ".join(c.text for c in answer.citations)
    return " ".join(_MARKER.sub("", answer.text).split())

