"""Evaluation against a question set: citation accuracy, answers, abstention, by language pair.

Every question is asked of one index holding the whole corpus of its file (not only its own
paragraph), and its citations are scored against the sentences that hold the gold answer.

- Metric functions at the top are pure (ids, texts and numbers in, numbers out) and unit-tested.
- :func:`run_evaluation` builds or reuses the index, asks every question, and returns an
  :class:`EvalRun` (per-question :class:`QuestionResult` + per-group :class:`GroupMetrics`).
- :func:`compare_runs` lines two saved runs up (``assistant eval --compare``).
- ``eval_report.py`` turns an EvalRun into ``report.md`` and PNG plots.

Unanswerable questions (``unanswerable=N``): :func:`assistant.evaluation.qasets.hold_out` picks N questions and
the articles they are about; a second index, ``<index>-holdout``, holds the corpus without those
articles, and the N questions are asked of it. Answerable questions are always asked of the full
index, so their scores do not depend on N. The holdout index reuses the embeddings cached in the main
index, so building it costs no model time.
"""

from __future__ import annotations

import dataclasses
import json
import math
import platform
import re
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.errors import ConfigError, MalformedInputError
from assistant.evaluation.qasets import Question, first_articles, hold_out, load_questions, read_articles
from assistant.text.normalize import normalize
from assistant.types import Answer, Article

if TYPE_CHECKING:
    from assistant.assistant import Assistant
    from assistant.models.embeddings import Embedder
    from assistant.settings import Settings

__all__ = [
    "RANK_K",
    "normalize_answer",
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
    "score_answer",
    "search_ranking",
    "QuestionResult",
    "GroupMetrics",
    "EvalRun",
    "summarize",
    "group_metrics",
    "run_evaluation",
    "load_run",
    "compare_runs",
    "Comparison",
    "model_tag",
    "default_index_path",
]

RANK_K = 10  # retrieval recall@k and MRR@k are measured on the top 10 of Assistant.search
Progress = Callable[[int, int, str], None]  # (done, total, stage), like Assistant.add's progress

# --- answer normalization (SQuAD v1.1 style, with Arabic) ------------------------------------------
_ENGLISH_ARTICLES = frozenset({"a", "an", "the"})
_ARABIC_ARTICLE = "ال"


def _is_punct(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "PS"  # punctuation and symbols, Arabic (، ؛ ؟ « ») and Latin


def normalize_answer(text: str) -> str:
    """SQuAD's answer normalization, extended to Arabic.

    1. :func:`assistant.text.normalize.normalize`: NFKC, diacritics/tatweel/invisible marks removed, alef
       forms unified, ى→ي, ة→ه, ؤ→و, ئ→ي, Arabic-Indic digits → ASCII, case-folded;
    2. every Unicode punctuation or symbol character deleted (SQuAD deletes ASCII punctuation; this also
       deletes ، ؛ ؟ « » ٪ and the like), so "U.S." → "us" and "1,000" → "1000";
    3. whitespace tokens; the English articles "a", "an", "the" dropped; the Arabic article "ال" stripped
       from the start of a token when at least two letters remain ("البرازيل" → "برازيل", "الى" kept).
    """
    text = "".join(ch for ch in normalize(text) if not _is_punct(ch))
    out = []
    for tok in text.split():
        if tok in _ENGLISH_ARTICLES:
            continue
        if tok.startswith(_ARABIC_ARTICLE) and len(tok) >= len(_ARABIC_ARTICLE) + 2:
            tok = tok[len(_ARABIC_ARTICLE):]
        out.append(tok)
    return " ".join(out)


def exact_match(prediction: str, answers: Sequence[str]) -> float:
    """1.0 when the normalized prediction equals a normalized gold answer (SQuAD EM), else 0.0."""
    p = normalize_answer(prediction)
    return float(any(p == normalize_answer(a) for a in answers))


def _f1(pred: list[str], gold: list[str]) -> float:
    if not pred or not gold:
        return float(pred == gold)
    common = Counter(pred) & Counter(gold)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(gold)
    return 2 * precision * recall / (precision + recall)


def f1_score(prediction: str, answers: Sequence[str]) -> float:
    """SQuAD token F1 between the normalized prediction and the best-matching gold answer."""
    if not answers:
        return 0.0
    p = normalize_answer(prediction).split()
    return max(_f1(p, normalize_answer(a).split()) for a in answers)


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


# --- records -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class QuestionResult:
    """One question asked and scored. ``kind`` is "answerable" (asked of the full index) or
    "unanswerable" (asked of the index without its article: the right outcome is an abstention)."""

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
    abstained: float | None  # answerable questions wrongly refused
    answered_correctly: float | None  # answered, a gold sentence cited
    latency_p50: float | None
    latency_p95: float | None
    citation_hits: list[float] = field(default_factory=list)  # any-citation hit@k for k = 1..max_citations
    rank_hits: list[float] = field(default_factory=list)  # retrieval hit@k for k = 1..10
    n_unanswerable: int = 0
    unanswerable_answered: float | None = None  # wrongly answered
    unanswerable_abstained: float | None = None
    tradeoff: float | None = None  # harmonic mean of answered_correctly and unanswerable_abstained


def _mean(xs: Sequence[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def summarize(results: Sequence[QuestionResult]) -> GroupMetrics:
    """Aggregate question results into one group's metrics (see GroupMetrics for each denominator)."""
    ans = [r for r in results if r.kind == "answerable"]
    una = [r for r in results if r.kind == "unanswerable"]
    gold = [r for r in ans if r.has_gold]
    cited = [r for r in ans if r.precision is not None]
    short = [r for r in ans if r.em is not None]
    lat = [r.latency_s for r in ans]
    kc = max((len(r.hit_at) for r in gold), default=0)
    correct = _mean([float(r.correct) for r in gold])
    una_abst = _mean([float(r.abstained) for r in una])
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
        abstained=_mean([float(r.abstained) for r in ans]),
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
    """Read a ``results.json`` written by :meth:`EvalRun.save`."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        results = [QuestionResult(**q) for q in data["questions"]]
        metrics = {k: GroupMetrics(**v) for k, v in data["metrics"].items()}
        return EvalRun(data["config"], results, metrics)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise MalformedInputError(str(path), f"is not a results.json written by `assistant eval` ({e})") from e


# --- running -------------------------------------------------------------------------------------
def model_tag(model_id: str) -> str:
    """A folder-safe slug of an embedding model id."""
    return re.sub(r"[^a-z0-9]+", "-", model_id.lower()).strip("-")


def default_index_path(settings: Settings, set_name: str, model_id: str) -> Path:
    """Where the index of a question set lives unless one is named: one per set and model."""
    return settings.index_root / f"eval-{set_name}-{model_tag(model_id)}"


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
    )


def _articles_of_index(a: Assistant) -> list[Article]:
    return [info.to_article(a.article(info.id)[1]) for info in a.articles()]


def _sync(a: Assistant, articles: list[Article], exact: bool, progress: Progress | None, stage: str) -> dict[str, int]:
    """Make the index hold ``articles`` (unchanged ones are skipped); with ``exact``, also remove the
    articles it holds beyond them, so it is exactly this corpus."""
    wanted = {x.id for x in articles}
    removed = 0
    if exact:
        for info in a.articles():
            if info.id not in wanted:
                a.remove(info.id)
                removed += 1
    rep = a.add(articles, progress=(lambda d, t, _aid: progress(d, t, stage)) if progress else None)
    if rep.failed:
        where, why = rep.failed[0]
        raise MalformedInputError(where, f"could not be indexed for the evaluation: {why}")
    return {"added": len(rep.added), "replaced": len(rep.replaced), "unchanged": len(rep.unchanged), "removed": removed}


def _seed_embeddings(src: Assistant, dst: Assistant, articles: list[Article]) -> int:
    """Copy the cached sentence embeddings of ``articles`` from ``src``'s index into ``dst``'s, so that
    indexing them into ``dst`` needs no model time. Returns how many vectors were copied."""
    from assistant.store.catalog import Catalog, text_key

    emb = src.embedder
    todo = [x for x in articles if not dst.index.unchanged(x)]
    keys = [
        text_key(emb.model_id, emb.document_key(s.text, x.title))
        for x in todo for s in src.index.catalog.sentences_of(x.id)
    ]
    if not keys:
        return 0
    vecs = src.index.catalog.cached_vectors(keys, emb.dim)
    with dst.index.catalog.transaction() as conn:
        Catalog.put_vectors(conn, vecs)
    return len(vecs)


def _ask(
    a: Assistant, q: Question, *, mode: str, retriever: str, max_citations: int, kind: str
) -> QuestionResult:
    t0 = time.perf_counter()
    answer = a.ask(q.question, mode=mode, max_citations=max_citations, retriever=retriever)  # type: ignore[arg-type]
    latency = time.perf_counter() - t0
    return score_answer(q, answer, search_ranking(a, q.question, answer, retriever), latency, max_citations, kind)


def search_ranking(a: Assistant, question: str, answer: Answer, retriever: str) -> list[str]:
    """The top RANK_K sentence ids of ``Assistant.search(question, RANK_K, retriever=...)``.

    The answer already carries that ranking: ``ask`` retrieves at least RANK_K passages for the same
    question with the same retriever, and the ranking of the first k does not depend on how many are
    asked for (tests/test_evaluate.py checks this). Reusing it saves a second query embedding; when
    the answer searched for a rewritten question, or carries no passages, ``search`` is called.
    """
    if answer.passages and answer.standalone_question in (None, question) and len(answer.passages) >= RANK_K:
        return [p.sentence.id for p in answer.passages[:RANK_K]]
    return [p.sentence.id for p in a.search(question, RANK_K, retriever=retriever)]  # type: ignore[arg-type]


def run_evaluation(
    questions: str | Path,
    *,
    articles: Sequence[str | Path] | None = None,
    index: str | Path | None = None,
    mode: str = "extractive",
    retriever: str = "hybrid",
    unanswerable: int = 0,
    limit: int | None = None,
    max_articles: int | None = None,
    max_citations: int | None = None,
    seed: int = 0,
    settings: Settings | None = None,
    embedder: Embedder | None = None,
    llm: Any = None,
    progress: Progress | None = None,
) -> EvalRun:
    """Evaluate the assistant on a question file and return the run (save it with ``run.save(dir)``).

    ``questions``: SQuAD v1.1 JSON (its contexts are the corpus) or our JSONL (with ``articles``: files or
    folders of articles; or without, over the articles already in ``index``). ``index``: a name under
    ``settings.index_root`` or a folder; default ``eval-<set>-<model tag>``, kept exactly equal to the
    corpus and reused by later runs (unchanged articles are skipped). A named index is only added to.
    ``unanswerable``: N questions asked of ``<index>-holdout``, the corpus without their articles.
    ``limit``: the first N questions of the file. ``max_articles``: the first M articles and their
    questions only (a smoke run). ``progress(done, total, stage)`` is called as it goes.
    """
    from assistant.assistant import Assistant, resolve_index_path
    from assistant.models.embeddings import build_embedder
    from assistant.settings import Settings

    if mode not in ("extractive", "generative"):
        raise ConfigError(f"mode must be 'extractive' or 'generative', not {mode!r}")
    if retriever not in ("hybrid", "dense", "bm25"):
        raise ConfigError(f"retriever must be 'hybrid', 'dense' or 'bm25', not {retriever!r}")
    settings = settings or Settings()
    embedder = embedder or build_embedder(settings.embedding)
    if llm is None and settings.llm.provider != "none":
        from assistant.models.llm import build_llm

        llm = build_llm(settings.llm)  # once, shared by the main and the holdout index
    max_chars = settings.chunking.max_sentence_chars
    k_cite = max_citations or settings.answer.max_citations
    started = datetime.now(UTC)
    qpath = Path(questions)

    own_index = index is None
    main: Assistant | None = None
    try:
        if articles:
            corpus = read_articles(articles, settings.ingest.extensions, int(settings.ingest.max_file_mb * 1_000_000))
            qset = load_questions(qpath, corpus, max_chars)
        elif qpath.suffix.lower() == ".jsonl" and index is not None:
            main = Assistant.open(index, settings=settings, embedder=embedder, llm=llm)
            qset = load_questions(qpath, _articles_of_index(main), max_chars)
        else:
            qset = load_questions(qpath, None, max_chars)
        if max_articles:
            qset = first_articles(qset, max_articles)
        if not qset.questions:
            raise MalformedInputError(str(qpath), "holds no questions to ask")
        path = (resolve_index_path(index, settings) if index is not None
                else default_index_path(settings, qset.name, embedder.model_id))
        if main is None:
            main = Assistant.open(path, settings=settings, embedder=embedder, llm=llm)
            ingest = _sync(main, qset.articles, own_index, progress, f"indexing {qset.name}")
        else:  # the corpus is what the named index already holds
            ingest = {"added": 0, "replaced": 0, "unchanged": len(qset.articles), "removed": 0}

        unanswerable_qs, withheld = hold_out(qset, unanswerable, seed)
        asked = qset.questions[:limit] if limit else qset.questions
        results: list[QuestionResult] = []
        for i, q in enumerate(asked, 1):
            results.append(_ask(main, q, mode=mode, retriever=retriever, max_citations=k_cite, kind="answerable"))
            if progress:
                progress(i, len(asked), "asking")

        holdout_info: dict[str, Any] | None = None
        if unanswerable_qs:
            kept = [x for x in _articles_of_index(main) if x.id not in withheld]
            hpath = main.path.parent / f"{main.path.name}-holdout"
            with Assistant.open(hpath, settings=settings, embedder=embedder, llm=llm) as hold:
                seeded = _seed_embeddings(main, hold, kept)
                h_ingest = _sync(hold, kept, True, progress, "indexing the holdout")
                holdout_info = {"index": str(hpath), "withheld_articles": sorted(withheld),
                                "articles": len(kept), "seeded_vectors": seeded, "ingest": h_ingest}
                for i, q in enumerate(unanswerable_qs, 1):
                    results.append(_ask(hold, q, mode=mode, retriever=retriever, max_citations=k_cite,
                                        kind="unanswerable"))
                    if progress:
                        progress(i, len(unanswerable_qs), "asking unanswerable")

        from assistant.answer.extractive import min_score_for

        min_score = min_score_for(embedder.model_id, settings.answer) if retriever == "hybrid" else None
        config = {
            "set": qset.name,
            "questions_file": str(qpath),
            "articles": [str(x) for x in articles] if articles else None,
            "index": str(main.path),
            "index_articles": len(main.articles()),
            "ingest": ingest,
            "holdout": holdout_info,
            "mode": mode,
            "retriever": retriever,
            "embedding_model": embedder.model_id,
            "llm": type(llm).__name__ if llm is not None else None,
            "max_citations": k_cite,
            "rank_k": RANK_K,
            "min_score": min_score,
            "limit": limit,
            "max_articles": max_articles,
            "unanswerable": unanswerable,
            "seed": seed,
            "settings": json.loads(settings.model_dump_json()),  # secrets come out masked
            "started": started.isoformat(timespec="seconds"),
            "seconds": round((datetime.now(UTC) - started).total_seconds(), 1),
            "python": platform.python_version(),
        }
        return EvalRun(config, results, group_metrics(results))
    finally:
        if main is not None:
            main.close()


# --- comparing two runs ---------------------------------------------------------------------------
COMPARED = (
    "first_hit", "hit_at_k", "recall_at_10", "mrr_at_10", "citation_precision", "citation_precision_strict",
    "contains_answer", "em", "f1", "abstained", "answered_correctly", "unanswerable_abstained", "tradeoff",
    "latency_p50", "latency_p95",
)


@dataclass(frozen=True)
class Comparison:
    """Metric differences (B − A) per group, and the questions whose outcome changed."""

    a: str
    b: str
    deltas: dict[str, dict[str, tuple[float | None, float | None, float | None]]]  # group → metric → (A, B, B−A)
    gained: list[QuestionResult]  # B's result: a hit (answerable) or an abstention (unanswerable) that A missed
    lost: list[QuestionResult]  # A's result: one A got right and B did not
    only_in_one: int  # questions present in one run only (not compared)

    def render(self) -> str:
        """Plain text for the terminal."""
        lines = [f"A: {self.a}", f"B: {self.b}", ""]
        for group, rows in self.deltas.items():
            lines.append(f"[{group}]")
            lines.append(f"  {'metric':28s} {'A':>8s} {'B':>8s} {'B-A':>8s}")
            for metric, (va, vb, d) in rows.items():
                lines.append(f"  {metric:28s} {_fmt(va):>8s} {_fmt(vb):>8s} {_fmt(d, signed=True):>8s}")
            lines.append("")
        lines.append(f"changed outcome: {len(self.gained)} better in B, {len(self.lost)} worse in B"
                     + (f" ({self.only_in_one} questions in one run only, not compared)" if self.only_in_one else ""))
        for title, rows in (("better in B", self.gained), ("worse in B", self.lost)):
            for r in rows:
                lines.append(f"  {title}: [{r.kind}] {r.id} ({r.pair}) {r.question}")
        return "\n".join(lines)


def _fmt(v: float | None, signed: bool = False) -> str:
    if v is None:
        return "—"
    return f"{v:+.3f}" if signed else f"{v:.3f}"


def _outcome(r: QuestionResult) -> bool:
    """The outcome compared between runs: first-citation hit (answerable) or abstention (unanswerable)."""
    return r.abstained if r.kind == "unanswerable" else r.first_hit


def compare_runs(a: EvalRun, b: EvalRun, a_name: str = "A", b_name: str = "B") -> Comparison:
    """Per-metric differences B − A (overall and per language pair) and the questions that changed
    outcome: first-citation hit for answerable questions, abstention for unanswerable ones."""
    def name(run: EvalRun, label: str) -> str:
        c = run.config
        return f"{label} ({c.get('set')}, {c.get('retriever')} retriever, {c.get('mode')}, {c.get('embedding_model')})"

    deltas: dict[str, dict[str, tuple[float | None, float | None, float | None]]] = {}
    for group in [g for g in a.metrics if g in b.metrics]:
        ma, mb = dataclasses.asdict(a.metrics[group]), dataclasses.asdict(b.metrics[group])
        rows = {}
        for m in COMPARED:
            va, vb = ma.get(m), mb.get(m)
            if va is None and vb is None:
                continue
            rows[m] = (va, vb, None if va is None or vb is None else vb - va)
        deltas[group] = rows
    ra = {(r.kind, r.id): r for r in a.results}
    rb = {(r.kind, r.id): r for r in b.results}
    common = [key for key in ra if key in rb]
    gained = [rb[key] for key in common if _outcome(rb[key]) and not _outcome(ra[key])]
    lost = [ra[key] for key in common if _outcome(ra[key]) and not _outcome(rb[key])]
    only = len(set(ra) ^ set(rb))
    return Comparison(name(a, a_name), name(b, b_name), deltas, gained, lost, only)
