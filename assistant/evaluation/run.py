"""An evaluation run against a question set: citation accuracy, answers, abstention, by language pair.

Every question is asked of one index holding the whole corpus of its file (not only its own
paragraph), and its citations are scored against the sentences that hold the gold answer.
Evaluation is a client of :class:`~assistant.Assistant` only: it opens indexes, adds, asks and
searches through the public API, never the storage below it.

- :mod:`assistant.evaluation.metrics`: the pure scoring functions (EM, F1, hits, recall, MRR, ...).
- :mod:`assistant.evaluation.results`: the records (:class:`QuestionResult`, :class:`GroupMetrics`,
  :class:`EvalRun`) and :func:`score_answer`.
- this module: :func:`run_evaluation` builds or reuses the index, asks every question, returns the run.
- :mod:`assistant.evaluation.compare`: :func:`compare_runs` (``assistant eval --compare``).
- :mod:`assistant.evaluation.report`: ``report.md`` and PNG plots of a run.
- :mod:`assistant.evaluation.workflow`: an evaluation from the web page (uploads in, report out).

Unanswerable questions (``unanswerable=N``): :func:`assistant.evaluation.qasets.hold_out` picks N questions and
the articles they are about; a second index, ``<index>-holdout``, holds the corpus without those
articles, and the N questions are asked of it. Answerable questions are always asked of the full
index, so their scores do not depend on N. The holdout index reuses the embeddings cached in the main
index (:meth:`Assistant.reuse_embeddings`), so building it costs no model time.

On-topic unanswerable questions (``on_topic=N``): :func:`assistant.evaluation.qasets.on_topic_hold_out` picks
N questions and their own paragraphs (only from articles with two paragraphs or more under one title); a
third index, ``<index>-ontopic``, holds the corpus without those paragraphs but with the other paragraphs of
their articles, so it is about their subject without answering them. They are scored like the withheld
ones (kind ``"on_topic"``: answered is wrong), in their own group (``on_topic_answered``). It is built
from the main index's cached embeddings too.
"""

from __future__ import annotations

import json
import platform
import re
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.errors import MalformedInputError
from assistant.evaluation.metrics import RANK_K
from assistant.evaluation.qasets import (
    Question,
    first_articles,
    hold_out,
    load_questions,
    on_topic_hold_out,
    read_articles,
    with_parallel_answers,
)
from assistant.evaluation.results import EvalRun, QuestionResult, group_metrics, score_answer
from assistant.types import RETRIEVER_MODES, Answer, AnswerMode, Article, RetrieverMode, check_choice

if TYPE_CHECKING:
    from assistant.assistant import Assistant
    from assistant.models.embedding.protocol import Embedder
    from assistant.settings import Settings

__all__ = ["run_evaluation", "search_ranking", "default_index_path", "model_tag", "articles_of", "check_choices",
           "RETRIEVERS"]

Progress = Callable[[int, int, str], None]  # (done, total, stage), like Assistant.add's progress
RETRIEVERS = RETRIEVER_MODES


def model_tag(model_id: str) -> str:
    """A folder-safe slug of an embedding model id."""
    return re.sub(r"[^a-z0-9]+", "-", model_id.lower()).strip("-")


def default_index_path(settings: Settings, set_name: str, model_id: str) -> Path:
    """Where the index of a question set lives unless one is named: one per set and model."""
    return settings.index_root / f"eval-{set_name}-{model_tag(model_id)}"


def check_choices(mode: str, retriever: str) -> None:
    """ConfigError unless ``mode`` is an answer mode and ``retriever`` a retriever the evaluation runs."""
    check_choice(mode, AnswerMode, "mode")
    check_choice(retriever, RetrieverMode, "retriever")


def articles_of(a: Assistant) -> list[Article]:
    """Every article of an index, with its text, as :class:`Article` records (the corpus it holds)."""
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


def _ask(
    a: Assistant, q: Question, *, mode: str, retriever: str, max_citations: int, kind: str
) -> QuestionResult:
    t0 = time.perf_counter()
    answer = a.ask(q.question, mode=mode, max_citations=max_citations, retriever=retriever)  # type: ignore[arg-type]
    latency = time.perf_counter() - t0
    return score_answer(q, answer, search_ranking(a, q.question, answer, retriever), latency, max_citations, kind)


def _ask_without(
    main: Assistant, withheld: set[str], suffix: str, withheld_key: str, questions: list[Question], kind: str,
    results: list[QuestionResult], *, settings: Settings, embedder: Embedder, llm: Any, mode: str, retriever: str,
    max_citations: int, progress: Progress | None, stages: tuple[str, str],
) -> dict[str, Any]:
    """Ask ``questions`` of ``<main>-<suffix>``, an index holding the main index's corpus without the
    ``withheld`` articles (built from the main index's cached embeddings: the model embeds nothing again),
    append their results (``kind``) to ``results`` and return what the index was (the withheld ids under
    ``withheld_key``). ``stages``: the progress labels of indexing and asking."""
    from assistant.assistant import Assistant

    kept = [x for x in articles_of(main) if x.id not in withheld]
    path = main.path.parent / f"{main.path.name}-{suffix}"
    with Assistant.open(path, settings=settings, embedder=embedder, llm=llm) as other:
        held = {info.id for info in other.articles()}
        seeded = other.reuse_embeddings(main) if any(x.id not in held for x in kept) else 0
        ingest = _sync(other, kept, True, progress, stages[0])
        info = {"index": str(path), withheld_key: sorted(withheld), "articles": len(kept), "seeded_vectors": seeded,
                "ingest": ingest}
        for i, q in enumerate(questions, 1):
            results.append(_ask(other, q, mode=mode, retriever=retriever, max_citations=max_citations, kind=kind))
            if progress:
                progress(i, len(questions), stages[1])
    return info


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
    on_topic: int = 0,
    limit: int | None = None,
    max_articles: int | None = None,
    max_citations: int | None = None,
    seed: int = 0,
    gold_from: str | Path | None = None,
    settings: Settings,
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
    ``on_topic``: N questions asked of ``<index>-ontopic``, the corpus without their own paragraphs (the other
    paragraphs of their articles stay).
    ``limit``: the first N questions of the file. ``max_articles``: the first M articles and their
    questions only (a smoke run). ``gold_from``: a parallel SQuAD file whose answers (by question id) also
    score the short answer, e.g. XQuAD's English file for its English-over-Arabic set.
    ``progress(done, total, stage)`` is called as it goes.
    ``settings``: the caller's (entry points build them once); ``embedder``, ``llm``: built from them when
    not given, once for both indexes.
    """
    from assistant.assistant import Assistant, resolve_index_path
    from assistant.models.embedding.factory import build_embedder

    check_choices(mode, retriever)
    embedder = embedder or build_embedder(settings.embedding, settings.paths)
    if llm is None and settings.llm.provider != "none":
        from assistant.models.llm import build_llm

        llm = build_llm(settings.llm, settings.paths)  # once, shared by the main and the holdout index
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
            qset = load_questions(qpath, articles_of(main), max_chars)
        else:
            qset = load_questions(qpath, None, max_chars)
        if max_articles:
            qset = first_articles(qset, max_articles)
        if gold_from is not None:
            qset = with_parallel_answers(qset, Path(gold_from))
        if not qset.questions:
            raise MalformedInputError(str(qpath), "holds no questions to ask")
        path = (resolve_index_path(index, settings) if index is not None
                else default_index_path(settings, qset.name, embedder.vector_id))
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
            holdout_info = _ask_without(main, withheld, "holdout", "withheld_articles", unanswerable_qs,
                                        "unanswerable", results, settings=settings, embedder=embedder, llm=llm,
                                        mode=mode, retriever=retriever, max_citations=k_cite, progress=progress,
                                        stages=("indexing the holdout", "asking unanswerable"))
        on_topic_qs, dropped = on_topic_hold_out(qset, on_topic, seed)
        on_topic_info: dict[str, Any] | None = None
        if on_topic_qs:
            on_topic_info = _ask_without(main, dropped, "ontopic", "withheld_paragraphs", on_topic_qs,
                                         "on_topic", results, settings=settings, embedder=embedder, llm=llm,
                                         mode=mode, retriever=retriever, max_citations=k_cite, progress=progress,
                                         stages=("indexing the on-topic index", "asking on-topic"))
        elif on_topic:
            on_topic_info = {"index": None, "withheld_paragraphs": [], "articles": 0, "seeded_vectors": 0,
                             "ingest": None, "note": "no article has two paragraphs or more under one title"}

        from assistant.retrieve.refusal import abstention_summary

        # the quantiles the assistant asked with (its calibration, loaded once), not a second read of the file
        abstention = (abstention_summary(main.calibration, embedder.model_id, settings.answer.min_score)
                      if retriever == "hybrid" else None)
        config = {
            "set": qset.name,
            "questions_file": str(qpath),
            "articles": [str(x) for x in articles] if articles else None,
            "index": str(main.path),
            "index_articles": len(main.articles()),
            "ingest": ingest,
            "holdout": holdout_info,
            "on_topic_index": on_topic_info,
            "mode": mode,
            "retriever": retriever,
            "embedding_model": embedder.vector_id,
            "llm": getattr(llm, "name", type(llm).__name__) if llm is not None else None,
            "max_citations": k_cite,
            "rank_k": RANK_K,
            "abstention": abstention,
            "short_producer": main.short.method if main.short is not None else None,
            "gold_from": str(gold_from) if gold_from is not None else None,
            "limit": limit,
            "max_articles": max_articles,
            "unanswerable": unanswerable,
            "on_topic": on_topic,
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

