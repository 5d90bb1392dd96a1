"""The records of an evaluation: one question scored (:class:`QuestionResult`), the scores of a group of
questions (:class:`GroupMetrics`) and a whole run (:class:`EvalRun`, saved as ``results.json``).

:func:`score_answer` scores one answer with the functions of :mod:`assistant.evaluation.metrics`;
:func:`group_metrics` aggregates results overall and per language pair.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.errors import MalformedInputError
from assistant.evaluation.metrics import (
    RANK_K,
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
from assistant.types import Answer

__all__ = ["QuestionResult", "GroupMetrics", "EvalRun", "score_answer", "summarize", "group_metrics", "load_run"]


@dataclass(frozen=True)
class QuestionResult:
    """One question asked and scored. ``kind`` is "answerable" (asked of the full index), "unanswerable"
    (asked of the index without its article) or "on_topic" (asked of the index without its own paragraph,
    the other paragraphs of its article kept); for the last two the right outcome is an abstention."""

    id: str
    kind: str
    question: str
    pair: str
    article_id: str
    answers: list[str]
    gold_sentence_ids: list[str]
    gold_sentences: list[str]
    answer: str
    answer_body: str
    abstained: bool
    notice: str | None
    citations: list[dict[str, Any]]  # n, article_id, sentence_id, text, score, gold (is a gold sentence), holds
    ranking: list[str]  # top RANK_K sentence ids from Assistant.search
    first_hit: bool
    hit_at: list[bool]  # hit_at[k-1]: a gold sentence among the first k citations, k = 1..max_citations
    rank_hit_at: list[bool]  # rank_hit_at[k-1]: a gold sentence in the top k of the ranking, k = 1..RANK_K
    recall: float
    rr: float
    precision: float | None
    precision_strict: float | None  # share of cited sentences that are gold sentences
    contains: bool
    em: float | None
    f1: float | None
    latency_s: float
    # the short answer (assistant/answer/short/): its record, and EM/F1 of what the reader sees first (the
    # short answer, else the whole answer as in ``em``/``f1``); ``*_other``: against gold answers in the
    # question's language from a parallel set (``Question.extra["answers_other"]``), using the translation
    short: dict[str, Any] | None = None
    short_em: float | None = None
    short_f1: float | None = None
    answers_other: list[str] = field(default_factory=list)
    short_f1_other: float | None = None

    @property
    def has_gold(self) -> bool:
        return bool(self.gold_sentence_ids)

    @property
    def correct(self) -> bool:
        """Answered (not abstained) with a gold sentence among its citations."""
        return not self.abstained and bool(self.hit_at) and self.hit_at[-1]


@dataclass(frozen=True)
class GroupMetrics:
    """Scores of one group of questions (all, or one language pair). Rates are 0..1; None: no data."""

    n: int  # answerable questions asked
    n_gold: int  # ... of which with a located gold sentence (the sentence-level metrics' base)
    first_hit: float | None
    hit_at_k: float | None  # any-citation hit@k, k = max_citations
    recall_at_10: float | None
    mrr_at_10: float | None
    citation_precision: float | None  # over questions with citations; "holds": gold sentence or gold string
    citation_precision_strict: float | None  # ... counting gold sentences only
    contains_answer: float | None
    em: float | None
    f1: float | None
    abstained: float | None  # answerable questions refused / answerable questions (= wrongly_abstained, its older name)
    answered_correctly: float | None  # answered, a gold sentence cited
    latency_p50: float | None
    latency_p95: float | None
    citation_hits: list[float] = field(default_factory=list)  # any-citation hit@k for k = 1..max_citations
    rank_hits: list[float] = field(default_factory=list)  # retrieval hit@k for k = 1..10
    n_unanswerable: int = 0
    unanswerable_answered: float | None = None  # wrongly answered
    unanswerable_abstained: float | None = None
    tradeoff: float | None = None  # harmonic mean of answered_correctly and unanswerable_abstained
    short_coverage: float | None = None  # share of answered answerable questions that got a short answer
    short_em: float | None = None  # EM/F1 of what is shown first: the short answer, else the whole answer
    short_f1: float | None = None
    short_f1_covered: float | None = None  # F1 over the questions that got a short answer
    short_f1_other: float | None = None  # against the parallel set's gold answers (e.g. English for en→ar)
    wrongly_abstained: float | None = None  # answerable questions refused / answerable questions
    n_on_topic: int = 0  # on-topic unanswerable questions asked (their own paragraph withheld, its siblings kept)
    on_topic_answered: float | None = None  # ... answered anyway (wrongly) / on-topic questions


def _mean(xs: Sequence[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def summarize(results: Sequence[QuestionResult]) -> GroupMetrics:
    """Aggregate question results into one group's metrics (see GroupMetrics for each denominator)."""
    ans = [r for r in results if r.kind == "answerable"]
    una = [r for r in results if r.kind == "unanswerable"]
    ont = [r for r in results if r.kind == "on_topic"]
    gold = [r for r in ans if r.has_gold]
    cited = [r for r in ans if r.precision is not None]
    short = [r for r in ans if r.em is not None]
    lat = [r.latency_s for r in ans]
    kc = max((len(r.hit_at) for r in gold), default=0)
    correct = _mean([float(r.correct) for r in gold])
    una_abst = _mean([float(r.abstained) for r in una])
    refused = _mean([float(r.abstained) for r in ans])
    return GroupMetrics(
        n=len(ans),
        n_gold=len(gold),
        first_hit=_mean([float(r.first_hit) for r in gold]),
        hit_at_k=_mean([float(r.hit_at[-1]) for r in gold if r.hit_at]),
        recall_at_10=_mean([r.recall for r in gold]),
        mrr_at_10=_mean([r.rr for r in gold]),
        citation_precision=_mean([r.precision for r in cited if r.precision is not None]),
        citation_precision_strict=_mean([r.precision_strict for r in cited if r.precision_strict is not None]),
        contains_answer=_mean([float(r.contains) for r in ans if r.answers]),
        em=_mean([r.em for r in short if r.em is not None]),
        f1=_mean([r.f1 for r in short if r.f1 is not None]),
        abstained=refused,
        answered_correctly=correct,
        latency_p50=percentile(lat, 50),
        latency_p95=percentile(lat, 95),
        citation_hits=[sum(r.hit_at[k] for r in gold if len(r.hit_at) > k) / len(gold) for k in range(kc)],
        rank_hits=[sum(r.rank_hit_at[k] for r in gold if len(r.rank_hit_at) > k) / len(gold) for k in range(RANK_K)]
        if gold else [],
        n_unanswerable=len(una),
        unanswerable_answered=None if una_abst is None else 1 - una_abst,
        unanswerable_abstained=una_abst,
        tradeoff=harmonic_mean(correct, una_abst),
        short_coverage=_mean([float(r.short is not None) for r in ans if not r.abstained]),
        short_em=_mean([r.short_em for r in short if r.short_em is not None]),
        short_f1=_mean([r.short_f1 for r in short if r.short_f1 is not None]),
        short_f1_covered=_mean([r.short_f1 for r in short if r.short is not None and r.short_f1 is not None]),
        short_f1_other=_mean([r.short_f1_other for r in ans if r.short_f1_other is not None]),
        wrongly_abstained=refused,
        n_on_topic=len(ont),
        on_topic_answered=_mean([float(not r.abstained) for r in ont]),
    )


def group_metrics(results: Sequence[QuestionResult]) -> dict[str, GroupMetrics]:
    """Metrics for "all" and for each language pair present (question→article, e.g. "en→ar")."""
    out = {"all": summarize(results)}
    for pair in sorted({r.pair for r in results}):
        out[pair] = summarize([r for r in results if r.pair == pair])
    return out


@dataclass(frozen=True)
class EvalRun:
    """One evaluation: what was run (``config``), per-question results and metrics by group."""

    config: dict[str, Any]
    results: list[QuestionResult]
    metrics: dict[str, GroupMetrics]

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": self.config,
            "metrics": {k: dataclasses.asdict(v) for k, v in self.metrics.items()},
            "questions": [dataclasses.asdict(r) for r in self.results],
        }

    def save(self, out_dir: str | Path) -> Path:
        """Write ``results.json`` into ``out_dir`` (created); returns its path."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        path = out / "results.json"
        path.write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8")
        return path


def load_run(path: str | Path) -> EvalRun:
    """Read a ``results.json`` written by :meth:`EvalRun.save` (also by older versions: a metric they did not
    record is None, and ``wrongly_abstained`` is their ``abstained``)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        results = [QuestionResult(**q) for q in data["questions"]]
        metrics = {k: GroupMetrics(**{"wrongly_abstained": v.get("abstained"), **v}) for k, v in data["metrics"].items()}
        return EvalRun(data["config"], results, metrics)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise MalformedInputError(str(path), f"is not a results.json written by `assistant eval` ({e})") from e


def score_answer(
    q: Question, answer: Answer, ranking: Sequence[str], latency_s: float, max_citations: int, kind: str
) -> QuestionResult:
    """Score one answer (and the search ranking for the same question) against the question's gold."""
    gold = q.gold_sentence_ids
    cited_ids = [c.sentence_id for c in answer.citations]
    cites = [
        {"n": c.n, "article_id": c.article_id, "sentence_id": c.sentence_id, "text": c.text,
         "score": c.score, "gold": c.sentence_id in gold, "holds": holds_gold(c.sentence_id, c.text, gold, q.answers)}
        for c in answer.citations
    ]
    body = answer_body(answer)
    shown = answer.short.text if answer.short is not None else body
    other = [str(a) for a in q.extra.get("answers_other", [])]
    shown_other = (answer.short.translation or answer.short.text) if answer.short is not None else body
    return QuestionResult(
        id=q.id, kind=kind, question=q.question, pair=q.pair, article_id=q.article_id, answers=list(q.answers),
        gold_sentence_ids=list(gold), gold_sentences=list(q.gold_texts), answer=answer.text, answer_body=body,
        abstained=answer.abstained, notice=answer.notice, citations=cites, ranking=list(ranking[:RANK_K]),
        first_hit=first_citation_hit(cited_ids, gold),
        hit_at=[any_citation_hit(cited_ids, gold, k) for k in range(1, max_citations + 1)],
        rank_hit_at=[any_citation_hit(list(ranking), gold, k) for k in range(1, RANK_K + 1)],
        recall=recall_at_k(ranking, gold), rr=reciprocal_rank(ranking, gold),
        precision=citation_precision([(c.sentence_id, c.text) for c in answer.citations], gold, q.answers),
        precision_strict=(sum(c in gold for c in cited_ids) / len(cited_ids)) if cited_ids else None,
        contains=contains_answer(body, q.answers),
        em=exact_match(body, q.answers) if q.answers else None,
        f1=f1_score(body, q.answers) if q.answers else None,
        latency_s=round(latency_s, 4),
        short=answer.short.to_dict() if answer.short is not None else None,
        short_em=exact_match(shown, q.answers) if q.answers else None,
        short_f1=f1_score(shown, q.answers) if q.answers else None,
        answers_other=other,
        short_f1_other=f1_score(shown_other, other) if other else None,
    )
