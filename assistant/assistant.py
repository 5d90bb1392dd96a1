"""The one object other apps use: ``Assistant.open(path)``, then ``add``, ``ask``, ``articles``, ``remove``."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Unpack

from assistant.answer.answerer import Answerer, AnswerRequest
from assistant.answer.extractive import ExtractiveAnswerer, abstention
from assistant.answer.generative import GenerativeAnswerer
from assistant.answer.short import build_short_answers
from assistant.errors import ArticleNotFoundError, IngestError
from assistant.ingest.cleaning import clean_article
from assistant.ingest.fetching import is_url
from assistant.ingest.reading import iter_files, read_path, read_url
from assistant.models.calibration import load_calibration
from assistant.models.chat import ChatModel, as_chat_model
from assistant.models.embedding.factory import build_embedder
from assistant.models.embedding.protocol import Embedder
from assistant.retrieve.filters import ArticleFilter, FilterKeywords
from assistant.retrieve.refusal import Abstention
from assistant.retrieve.search import Retriever
from assistant.settings import Settings
from assistant.store.home import served_collections
from assistant.store.index import Index, disk_full_is_typed
from assistant.store.nodes import Prepared
from assistant.telemetry import quiet_telemetry
from assistant.text.language import detect_language
from assistant.types import (
    Answer,
    AnswerMode,
    Article,
    ArticleInfo,
    IngestReport,
    Passage,
    RetrieverMode,
    Sentence,
    StreamEvent,
    check_choice,
)

__all__ = ["Assistant"]

Source = str | Path | Article
Progress = Callable[[int, int, str], None]


def resolve_index_path(path: str | Path, settings: Settings) -> Path:
    """A bare name ("news") lives under ``settings.index_root``; anything path-like is used as given."""
    p = Path(path)
    if p.is_absolute() or len(p.parts) > 1 or p.exists():
        return p
    return settings.index_root / p


class Assistant:
    """Cited answers over one collection of articles (an index folder).

    Build it with :meth:`open`. Models are passed in or built once from settings; nothing is read
    from hidden globals. Safe to share between threads.
    """

    def __init__(self, index: Index, embedder: Embedder, settings: Settings, llm: ChatModel | Any = None):
        self.index = index
        self.embedder = embedder
        self.settings = settings
        # The chat model of the generative mode (a llama-index LLM is wrapped), or None.
        self.llm: ChatModel | None = as_chat_model(llm)
        self.retriever = Retriever(index, embedder, settings.retrieval)
        # when to say "the articles do not answer this" (probe vectors are cached beside the models)
        # calibrated per embedding model (assistant/models/calibration.json), read once per assistant
        self.calibration = load_calibration()
        self.abstention = Abstention(index, embedder, settings.answer.min_score, settings.paths.probes_dir,
                                     self.calibration)
        # the short answer the answer leads with (assistant/answer/short/): the trained span reader on the
        # default embedding model, the rules on any other, the LLM when asked for
        self.short = build_short_answers(settings.answer, settings.llm, embedder, self.llm)
        extractive = ExtractiveAnswerer(settings.answer, self._article_infos, self.short)
        self.answerers: dict[AnswerMode, Answerer] = {
            "extractive": extractive,
            "generative": GenerativeAnswerer(settings.answer, settings.llm, self.llm, embedder, extractive,
                                             self.calibration),
        }

    def _article_infos(self, article_ids: Iterable[str]) -> dict[str, ArticleInfo]:
        return self.index.catalog.article_infos(article_ids)

    @staticmethod
    def served_collections(settings: Settings) -> list[str]:
        """The collections in the PostgreSQL database of ``store.catalog_url`` (none when it is not set)."""
        return served_collections(settings.store)

    @classmethod
    def open(
        cls,
        path: str | Path = "news",
        *,
        settings: Settings | None = None,
        embedder: Embedder | None = None,
        llm: ChatModel | Any = None,
        rebuild: bool = False,
    ) -> Assistant:
        """Open the index at ``path`` (created if missing). ``rebuild=True`` re-embeds an index that was
        built with other settings instead of refusing it. ``embedder`` and ``llm`` are built from
        ``settings`` when not given (pass them to share one model between several indexes). ``llm``: a
        ``ChatModel`` (assistant/models/chat.py; what ``build_llm`` returns) or a llama-index LLM, which is
        wrapped (``serial`` when it runs in this process, as llama.cpp does)."""
        quiet_telemetry()  # before the model and store clients are built (importing the package sets nothing)
        settings = settings or Settings()
        if llm is None and settings.llm.provider != "none":
            from assistant.models.llm import build_llm

            llm = build_llm(settings.llm, settings.paths)  # ConfigError / LLMError now, not at the first question
        embedder = embedder or build_embedder(settings.embedding, settings.paths)
        index = Index(resolve_index_path(path, settings), settings, embedder, rebuild=rebuild)
        return cls(index, embedder, settings, llm)

    def close(self) -> None:
        self.index.close()

    def __enter__(self) -> Assistant:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def served(self) -> bool:
        """Whether the collection is served (``store.catalog_url``): shared by every process pointed at it,
        nothing of it kept in this machine's folder."""
        return self.index.served

    @property
    def path(self) -> Path:
        return self.index.path

    @property
    def ready(self) -> bool:
        """Whether the models have loaded: the default embedder loads in the background from
        :meth:`open`, and a question asked before it is ready waits for it."""
        return self.embedder.ready

    # --- collection -------------------------------------------------------------------------------
    def add(self, sources: Source | Sequence[Source], *, progress: Progress | None = None) -> IngestReport:
        """Index files, folders, Articles or web pages (an http(s) URL, fetched: assistant/ingest/fetching.py).
        Bad inputs land in ``report.failed`` with the reason; the
        rest is indexed. Unchanged articles are skipped; changed ones replace their old version.

        Streams: files are read, split and embedded in batches of about ``embedding.batch_size * 4``
        sentences, one batch embedding while the one before it is written (store/pipeline.py), so memory
        stays bounded however many files are given. ``progress(done, total, article_id)`` is called for each
        input (a file or an Article; a JSON/JSONL file counts once) with the last article id seen, once its
        articles are committed: the first input at once, the others as their batch commits (so a call may
        come a batch after its input was read, and while a later one is being read).
        """
        if isinstance(sources, (str, Path, Article)):
            sources = [sources]
        report = IngestReport()
        units = list(self._units(sources, report))
        seen: dict[str, str] = {}
        existed: set[str] = set()
        waiting: list[tuple[int, str, int]] = []  # (input number, its last article id, articles put by then)
        stored_count = 0

        def stored(batch: list[Prepared]) -> None:  # a batch is committed (while an input may still be read)
            nonlocal stored_count
            for p in batch:
                (report.replaced if p.article.id in existed else report.added).append(p.article.id)
            stored_count += len(batch)
            tell()

        def committed() -> str:
            return (f"{len(report.added) + len(report.replaced)} article(s) of this call were committed before it "
                    "and are kept, as is everything indexed before")

        def tell() -> None:  # progress of the inputs whose articles are all committed
            while progress and waiting and waiting[0][2] <= stored_count:
                done, last, _ = waiting.pop(0)
                progress(done, len(units), last)

        with disk_full_is_typed(self.path, committed), self.index.ingesting():
            try:
                with self.index.pipeline(max(64, self.settings.embedding.batch_size * 4), stored) as pipeline:
                    for done, unit in enumerate(units, 1):
                        last = ""
                        for item in self._read_unit(unit):
                            if isinstance(item, IngestError):
                                report.failed.append((item.source, item.reason))
                                continue
                            last = item.id
                            prepared = self._prepare(item, seen, existed, report)
                            if prepared is not None:
                                pipeline.put(prepared)
                        if progress:
                            waiting.append((done, last, pipeline.put_count))
                            if done == 1:  # the first input alone, so that a progress bar moves at once
                                pipeline.finish()
                            tell()
                    pipeline.finish()
            finally:
                if report.added or report.replaced:
                    self.index.finish_write()
        return report

    def _units(self, sources: Sequence[Source], report: IngestReport) -> Iterator[tuple[Path, str] | Article | str]:
        """Each input to read: an Article, a URL, or a (file, article id) from a path or folder."""
        for src in sources:
            if isinstance(src, Article) or is_url(src):
                yield src  # type: ignore[misc]
                continue
            target = Path(src)
            if not target.exists():
                report.failed.append((str(target), "does not exist; check the path"))
                continue
            found = False
            for unit in iter_files(target, self.settings.ingest.extensions):
                found = True
                yield unit
            if not found:
                report.failed.append((str(target), f"holds no {', '.join(self.settings.ingest.extensions)} files"))

    def _read_unit(self, unit: tuple[Path, str] | Article | str) -> Iterator[Article | IngestError]:
        ingest = self.settings.ingest
        max_bytes = int(ingest.max_file_mb * 1_000_000)
        if isinstance(unit, Article):
            try:
                yield clean_article(unit, unit.id or "<article without id>")
            except IngestError as e:
                yield e
            return
        if isinstance(unit, str):  # a URL (assistant/ingest/fetching.py)
            yield from read_url(unit, max_bytes=max_bytes, timeout=ingest.url_timeout,
                                allow_private=ingest.allow_private_urls)
            return
        path, file_id = unit
        yield from read_path(path, file_id, max_bytes=max_bytes)

    def _prepare(self, a: Article, seen: dict[str, str], existed: set[str], report: IngestReport) -> Prepared | None:
        """Split an article, or record why it is skipped (duplicate id, unchanged, no sentences)."""
        where = a.path or a.id
        if a.id in seen:
            report.failed.append((where, f"article id {a.id!r} was already given by {seen[a.id]}; ids must be unique"))
            return None
        seen[a.id] = where
        if self.index.unchanged(a):
            report.unchanged.append(a.id)
            return None
        try:
            prepared = Prepared(a, self.settings)
        except IngestError as e:
            report.failed.append((where, e.reason))
            return None
        if self.index.catalog.content_hash(a.id) is not None:
            existed.add(a.id)
        return prepared

    def articles(self) -> list[ArticleInfo]:
        """Every indexed article (id, title, sentence count, ...), sorted by id."""
        return self.index.catalog.articles()

    def count(self) -> tuple[int, int]:
        """(articles, sentences) in the collection, counted by the catalog (no article is read)."""
        return self.index.catalog.count()

    def article(self, article_id: str) -> tuple[ArticleInfo, str]:
        """One article's record and its full text (as ingested; citation offsets point into it)."""
        got = self.index.catalog.article(article_id)
        if got is None:
            raise ArticleNotFoundError(f"no article {article_id!r} in {self.path}; see Assistant.articles()")
        return got

    def sentences(self, article_id: str) -> list[Sentence]:
        """One article's sentences in order, with their stable ids and offsets into its text."""
        self.article(article_id)  # ArticleNotFoundError when absent
        return self.index.catalog.sentences_of(article_id)

    def remove(self, article_id: str) -> None:
        """Remove an article and all its sentences. Raises ArticleNotFoundError when absent."""
        with disk_full_is_typed(self.path), self.index.writing():
            try:
                found = self.index.remove(article_id)
            finally:
                self.index.finish_write()
        if not found:
            raise ArticleNotFoundError(f"no article {article_id!r} in {self.path}; see Assistant.articles()")

    def reuse_embeddings(self, others: Assistant | str | Path | Sequence[Assistant | str | Path]) -> int:
        """Copy the embedding cache of other indexes (open Assistants, or index folders read read-only)
        into this one, so that adding the same texts here needs no model time. Vectors of another model
        never match anything. Returns how many cached vectors were offered; unreadable sources count 0."""
        if isinstance(others, (Assistant, str, Path)):
            others = [others]
        paths = [o.path if isinstance(o, Assistant) else resolve_index_path(o, self.settings) for o in others]
        return self.index.catalog.seed_vectors(paths)

    # --- questions --------------------------------------------------------------------------------
    def search(
        self,
        question: str,
        k: int = 10,
        *,
        retriever: RetrieverMode = "hybrid",
        where: ArticleFilter | None = None,
        **filters: Unpack[FilterKeywords],
    ) -> list[Passage]:
        """The ``k`` best sentences for a question, best first, with their scores; the filter as in
        :meth:`ask`."""
        scope = self._scope(ArticleFilter.given(where, filters))
        if scope == []:
            return []
        return self.retriever.search(question, k, article_ids=scope, mode=retriever).passages

    def _scope(self, f: ArticleFilter) -> list[str] | None:
        """The article ids a question may use (assistant/retrieve/filters.py): None for all, [] for none."""
        return f.article_ids_in(self.index.catalog.articles()) if not f.empty else None

    def ask(
        self,
        question: str,
        *,
        mode: AnswerMode | None = None,
        max_citations: int | None = None,
        retriever: RetrieverMode = "hybrid",
        history: Sequence[str] = (),
        where: ArticleFilter | None = None,
        **filters: Unpack[FilterKeywords],
    ) -> Answer:
        """Answer a question from the articles, citing sentences, in the question's language.

        ``mode``: "extractive" (quotes the best sentences; the offline default) or "generative" (an LLM
        writes the answer; the program checks its citations). Default: ``settings.answer.mode``.
        ``history``: earlier questions of the conversation as asked (oldest first); a follow-up ("and
        what does Iran want?") is made standalone with them before retrieval (see followup.py).
        Filters (assistant/retrieve/filters.py), as ``where=ArticleFilter.of(...)`` or as these keywords
        (each left out allows everything): ``article_ids``; ``sources``
        (the articles' source names); ``date_from`` / ``date_to`` (ISO 8601 or e.g. "12 يونيو 2019";
        ``DateError`` for a bad one; an article without a date is left out by a date filter);
        ``languages`` (["ar"], ["en"]). When no article matches, the answer says so (abstained).
        """
        answer: Answer | None = None
        for event in self.ask_stream(question, mode=mode, max_citations=max_citations, retriever=retriever,
                                     history=history, where=ArticleFilter.given(where, filters)):
            if event.answer is not None:
                answer = event.answer
        assert answer is not None  # ask_stream always ends with the answer
        return answer

    def ask_stream(
        self,
        question: str,
        *,
        mode: AnswerMode | None = None,
        max_citations: int | None = None,
        retriever: RetrieverMode = "hybrid",
        history: Sequence[str] = (),
        where: ArticleFilter | None = None,
        **filters: Unpack[FilterKeywords],
    ) -> Iterator[StreamEvent]:
        """Like :meth:`ask`, streamed: text deltas as they come (``event.delta``), then one last event
        carrying the final :class:`Answer` (``event.answer``), whose text may differ from the deltas
        after citation checking."""
        t0 = time.perf_counter()
        lang = detect_language(question, default="ar")
        chosen: AnswerMode = check_choice(mode or self.settings.answer.mode, AnswerMode, "mode")  # type: ignore[assignment]
        answerer = self.answerers[chosen]
        scope = self._scope(ArticleFilter.given(where, filters))  # DateError before anything
        asked, empty_index = bool(question.strip()), self.index.catalog.count()[0] == 0
        if not asked or empty_index or scope == []:
            ans = abstention(question, lang, [], empty=asked and empty_index, filtered=asked and not empty_index)
            yield StreamEvent(delta=ans.text)
            yield StreamEvent(answer=ans)
            return
        # A follow-up made standalone: by the LLM in the generative mode (assistant/answer/condense.py),
        # else, or when that fails, by the heuristic of assistant/answer/followup.py.
        standalone = answerer.standalone(question, history)
        k = max(10, 3 * (max_citations or self.settings.answer.max_citations))
        found = self.retriever.search(standalone, k, article_ids=scope, mode=retriever)
        passages = found.passages
        # only the hybrid retriever abstains on evidence (the single retrievers are for comparison)
        abstain = self.abstention.decide(lang, passages, found.best_dense).abstain if retriever == "hybrid" else False
        t1 = time.perf_counter()
        yield from answerer.stream(AnswerRequest(
            question=question, lang=lang, passages=passages, abstain=abstain, started=t0, retrieved=t1,
            max_citations=max_citations, standalone_question=standalone if standalone != question else None,
        ))
