"""The chat's event handlers as plain methods (no Gradio types in or out): :class:`ChatApp`, a thin adapter
over :class:`~assistant.service.service.CollectionService` (the service every door calls).

:mod:`assistant.web.layout` wires them to the page; each returns what a page element shows (HTML built by
:mod:`assistant.web.answers`, :mod:`assistant.web.articles`, :mod:`assistant.web.conversation`) and turns
errors into plain messages (:meth:`ChatApp._shown`, the one place). The Evaluate section calls the one
evaluation workflow (:func:`assistant.evaluation.workflow.evaluate_upload`) and shows what it returns.
"""

import dataclasses
import json
import logging
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from assistant.errors import AssistantError, ConfigError
from assistant.evaluation.workflow import RUNS_DIR, Evaluation, evaluate_upload, new_run_folder
from assistant.ingest.fetching import is_url
from assistant.service.collections import Collections
from assistant.service.options import AskOptions, Filters
from assistant.service.service import CollectionService, article_record
from assistant.settings import Settings
from assistant.types import IngestReport
from assistant.web.answers import answer_html, pending_html
from assistant.web.articles import article_choices, article_html, articles_table_html, ingest_report_html
from assistant.web.conversation import (
    Turn,
    api_answer,
    conversation_json,
    conversation_markdown,
    conversation_messages,
    feedback_record,
)
from assistant.web.links import parse_ref
from assistant.web.markup import block_dir, error_html, status_html

__all__ = ["ChatApp", "EvalOutcome", "FEEDBACK_FILE", "EVAL_RUNS_DIR", "EVAL_LIMIT"]

log = logging.getLogger(__name__)

FEEDBACK_FILE = "feedback.jsonl"
EVAL_RUNS_DIR = RUNS_DIR  # under settings.index_root: one folder per evaluation run from the page
EVAL_LIMIT = 50  # the page's default question limit, so a run from the browser stays short
_INTERNAL = "An internal error stopped this request; the details are in the server log."


class EvalOutcome(NamedTuple):
    """What an evaluation from the page gives back: a status line (HTML), the report as Markdown ("" when
    it failed), the plot PNGs and the files to download (``results.json``, ``report.md``)."""

    status: str
    markdown: str
    plots: list[str]
    files: list[str]


class ChatApp:
    """The chat's event handlers as plain methods (no Gradio types in or out), over the service."""

    def __init__(self, service: CollectionService):
        self.service = service

    @property
    def collections(self) -> Collections:
        return self.service.collections

    @property
    def settings(self) -> Settings:
        return self.service.settings

    def _shown(self, what: str, fn: Callable[..., str], *args: Any) -> str:
        """``fn(*args)``'s HTML, or its failure as a status message without server paths."""
        try:
            return fn(*args)
        except AssistantError as e:
            return status_html(self.service.public_message(e), "error")
        except Exception:
            log.exception("%s failed", what)
            return status_html(_INTERNAL, "error")

    def model_status(self) -> str:
        """What the page says about the model: a notice while it loads, nothing once it is ready."""
        if self.service.collection().ready:
            return ""
        return status_html("Loading the embedding model… a question asked now waits for it (a few seconds). "
                           "· جارٍ تحميل النموذج…")

    # --- asking -----------------------------------------------------------------------------------
    def respond(
        self,
        question: str,
        turns: list[Turn],
        collection: str,
        max_citations: int | None = None,
        mode: str | None = None,
        article_ids: Sequence[str] | None = None,
        sources: Sequence[str] | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        languages: Sequence[str] | None = None,
    ) -> Iterator[tuple[list[dict[str, str]], list[Turn]]]:
        """Stream one answer into the conversation: yields (chat messages, turns) as it grows. Earlier
        questions asked of the same collection are passed as history, so follow-ups work. The filters are
        those of ``Assistant.ask`` (empty: all); a bad date is shown as the answer's error."""
        q = (question or "").strip()
        turns = list(turns or [])
        if not q:
            yield conversation_messages(turns), turns
            return
        _, lang = block_dir(q, "ar")
        history = [t.question for t in turns if t.collection == collection and t.answer is not None]
        turn = Turn(question=q, collection=collection, html=pending_html("", lang))
        turns.append(turn)
        yield conversation_messages(turns), turns
        try:
            text = ""
            final = None
            options = AskOptions.of(collection=collection, mode=mode or "", max_citations=int(max_citations or 0),
                                    history=history, **_filters(article_ids, sources, date_from, date_to, languages))
            for event in self.service.ask_stream(q, options):
                if event.answer is not None:
                    final = event.answer
                elif event.delta:
                    text += event.delta
                    turn.html = pending_html(text, lang)
                    yield conversation_messages(turns), turns
            assert final is not None  # ask_stream always ends with the answer
            turn.answer = dataclasses.replace(final, passages=[])
            turn.html = answer_html(final, self.service.texts([c.article_id for c in final.citations], collection),
                                    collection)
        except AssistantError as e:
            turn.error = self.service.public_message(e)
            turn.html = error_html(turn.error, lang)
        except Exception:
            log.exception("answering %r failed", q)
            turn.error = _INTERNAL
            turn.html = error_html(_INTERNAL, lang)
        yield conversation_messages(turns), turns

    def open_ref(self, href: str | None) -> str:
        """The article view for a clicked ``#cite/…`` or ``#article/…`` link."""
        ref = parse_ref(href)
        if ref is None:
            return status_html(f"Not a link to an article: {href!r}", "error")

        def view() -> str:
            info, text = self.service.article(ref.article_id, ref.collection)
            short = (ref.short_start, ref.short_end) if ref.short_start is not None and ref.short_end is not None else None
            return article_html(info, text, ref.start, ref.end, short)

        return self._shown(f"opening {href!r}", view)

    # --- collection -------------------------------------------------------------------------------
    def collection_view(self, collection: str) -> tuple[str, list[tuple[str, str]], list[str]]:
        """(article list HTML, article choices, source names) of a collection."""
        infos = self.service.articles(collection)
        sources = sorted({i.source for i in infos if i.source}, key=str.casefold)
        return articles_table_html(infos, collection), article_choices(infos), sources

    def upload(
        self, files: Sequence[str] | None, collection: str, progress: Callable[[int, int, str], None] | None = None
    ) -> str:
        """Index uploaded files into the collection (:meth:`ingest_uploads`); returns what happened, in
        plain words."""
        paths = [str(f) for f in (files or [])]
        if not paths:
            return status_html("Choose one or more .txt, .md, .html, .json, .jsonl, .pdf or .docx files first.")
        return self._shown(f"upload into {collection!r}",
                           lambda: ingest_report_html(self.ingest_uploads(paths, collection, progress), collection))

    def ingest_uploads(
        self, paths: Sequence[str], collection: str, progress: Callable[[int, int, str], None] | None = None
    ) -> IngestReport:
        """Check, keep and index uploaded files: :meth:`CollectionService.upload`."""
        return self.service.upload(paths, collection, progress)

    def add_url(self, url: str, collection: str) -> str:
        """Fetch the web page at ``url`` into the collection (assistant/ingest/fetching.py: http(s) only, no
        private addresses unless ingest.allow_private_urls); returns what happened, in plain words."""
        url = (url or "").strip()
        if not is_url(url):
            return status_html("Give a web page's address, starting with https:// or http://.")
        return self._shown(f"fetching {url!r} into {collection!r}",
                           lambda: ingest_report_html(self.service.add_url(url, collection), collection))

    def remove(self, article_id: str | None, collection: str) -> str:
        if not article_id:
            return status_html("Choose an article to remove first.")

        def removed() -> str:
            self.service.remove(article_id, collection)  # its uploaded file goes too
            return status_html(f"Removed {article_id} from {collection}.")

        return self._shown(f"removing {article_id!r}", removed)

    # --- feedback and export ----------------------------------------------------------------------
    def feedback(self, turns: Sequence[Turn], turn_index: int, vote: str, comment: str | None = None) -> str:
        """Append a vote (with an optional comment) on one answer to ``<index folder>/feedback.jsonl``.
        A later line for the same ``turn_id`` (a comment after the vote) supersedes an earlier one."""
        if not 0 <= turn_index < len(turns):
            return status_html("That answer is no longer in this conversation.", "error")
        turn = turns[turn_index]
        try:
            path = self.service.collection(turn.collection).path / FEEDBACK_FILE
            with path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(feedback_record(turn, vote, comment), ensure_ascii=False) + "\n")
        except (AssistantError, OSError) as e:
            return status_html(f"Could not save the feedback: {self.service.public_message(e)}", "error")
        thanks = {"up": "👍", "down": "👎"}.get(vote, vote)
        return status_html(f"Feedback saved ({thanks}) for answer {turn_index + 1}" + (" with your comment." if comment else "."))

    @staticmethod
    def export(turns: Sequence[Turn]) -> tuple[str, str]:
        """Write the conversation as Markdown and JSON files; returns their paths."""
        folder = Path(tempfile.mkdtemp(prefix="assistant-export-"))
        md = folder / "conversation.md"
        js = folder / "conversation.json"
        md.write_text(conversation_markdown(turns), encoding="utf-8")
        js.write_text(json.dumps(conversation_json(turns), ensure_ascii=False, indent=2), encoding="utf-8")
        return str(md), str(js)

    # --- evaluation ---------------------------------------------------------------------------------
    def evaluate(
        self,
        questions: str | None,
        retriever: str = "hybrid",
        mode: str = "extractive",
        unanswerable: float | None = 0,
        limit: float | None = EVAL_LIMIT,
        progress: Callable[[int, int, str], None] | None = None,
        *,
        articles: Sequence[str] | None = None,
        collection: str | None = None,
    ) -> EvalOutcome:
        """Evaluate the assistant on an uploaded question set (``assistant eval`` from the page).

        The form's fields go to :func:`~assistant.evaluation.workflow.evaluate_upload`: ``questions`` (SQuAD
        v1.1 JSON, or our JSONL over the uploaded ``articles`` or, without them, over the articles of
        ``collection``), checked and copied like article uploads into ``<index_root>/eval-runs/<timestamp>/``,
        where ``results.json``, ``report.md`` and the plots are written. ``limit``: the first N questions (0
        or empty: all). Errors come back as a plain status message, never raised."""
        if not questions:
            return _eval_failed("Choose a question file first: SQuAD v1.1 JSON (.json) or our JSONL (.jsonl).")
        folder: Path | None = None
        try:
            n_unanswerable = _count(unanswerable, "the number of unanswerable questions")
            n_limit = _count(limit, "the question limit") or None
            over = self.service.collection(collection or "")
            folder = new_run_folder(self.settings.index_root)
            done = evaluate_upload(questions, over, folder, receive=self.service.store, articles=articles or (),
                                   mode=mode, retriever=retriever, unanswerable=n_unanswerable, limit=n_limit,
                                   progress=progress)
        except AssistantError as e:
            return _eval_failed(self._hide_paths(str(e), folder))  # the run's folders too
        except Exception:
            log.exception("evaluating %r failed", questions)
            return _eval_failed(_INTERNAL)
        return self._eval_outcome(done)

    def _eval_outcome(self, done: Evaluation) -> EvalOutcome:
        """What the page shows of a finished run. The files are served from a temp copy: Gradio serves only
        files under the working or temp folder, and index_root may be anywhere."""
        out = Path(tempfile.mkdtemp(prefix="assistant-eval-"))
        files = [shutil.copy(done.results_file, out), shutil.copy(done.report.path, out)]
        plots = [shutil.copy(p, out) for p in done.report.plots]
        return EvalOutcome(status_html(done.summary()), self._report_for_page(done.report.markdown),
                           [str(p) for p in plots], [str(f) for f in files])

    def _hide_paths(self, message: str, run_dir: Path | None) -> str:
        """``message`` without the server's folders: files are named as uploaded."""
        folders = [run_dir / "input", run_dir / "articles", run_dir] if run_dir else []
        return self.service.hide_paths(message, *folders)

    def _report_for_page(self, markdown: str) -> str:
        """The report as shown on the page: the plots section goes (the gallery shows them) and index paths
        are named under the index root."""
        markdown = re.sub(r"\n## Plots\n.*?(?=\n## |\Z)", "\n", markdown, flags=re.S)
        return self._hide_paths(markdown, None)

    # --- API for other programs -------------------------------------------------------------------
    def api_ask(
        self,
        question: str,
        collection: str = "",
        max_citations: int = 0,
        mode: str = "",
        article_ids: list[str] | None = None,
        history: list[str] | None = None,
        sources: list[str] | None = None,
        date_from: str = "",
        date_to: str = "",
        languages: list[str] | None = None,
    ) -> dict[str, Any]:
        """Answer a question from a collection's articles, with citations.

        Args:
            question: the question, in Arabic or English.
            collection: the collection (index) to ask; empty: the one the server started with.
            max_citations: most sentences cited; 0: the server's setting.
            mode: "extractive" or "generative"; empty: the server's setting.
            article_ids: search only these articles; empty: all.
            history: earlier questions of the conversation, oldest first (for follow-ups).
            sources: only articles from these sources; empty: all.
            date_from: only articles dated on or after this day (2019-06-01, "1 يونيو 2019"); empty: no limit.
            date_to: only articles dated on or before this day; empty: no limit.
            languages: only articles in these languages ("ar", "en"); empty: all.
        Returns:
            The answer: question, text with [n] markers, lang, abstained, mode, notice, and citations
            (n, article_id, sentence_id, text, start, end, score, title, source, date, lang), where
            start/end are code-point offsets of the cited sentence in the article text, and short (or
            null): the short answer (text, article_id, sentence_id, start, end, n, confidence, method,
            translation), exact words of the article inside the sentence of citation n.
        """
        options = AskOptions.of(collection=collection or "", mode=mode or "", max_citations=max_citations or 0,
                                history=history or [],
                                **_filters(article_ids, sources, date_from, date_to, languages))
        return api_answer(self.service.ask(question, options))

    def api_articles(self, collection: str = "") -> list[dict[str, Any]]:
        """The articles of a collection (id, title, source, date, lang, n_sentences, content_hash).

        Args:
            collection: the collection (index); empty: the one the server started with.
        """
        # without the server-side "path": a dict holding one is taken for a file to download by gradio_client
        return [article_record(i) for i in self.service.articles(collection)]


def _eval_failed(message: str) -> EvalOutcome:
    """A failed evaluation: the plain message (the workflow kept nothing of the run)."""
    return EvalOutcome(status_html(message, "error"), "", [], [])


def _count(value: float | str | None, what: str) -> int:
    """A whole number >= 0 from a form field (empty: 0)."""
    if value is None or value == "":
        return 0
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{what} must be a whole number, not {value!r}") from None
    if f < 0 or f != int(f):
        raise ConfigError(f"{what} must be a whole number of 0 or more, not {value!r}")
    return int(f)


def _filters(article_ids: Sequence[str] | None, sources: Sequence[str] | None, date_from: str | None,
             date_to: str | None, languages: Sequence[str] | None) -> dict[str, Any]:
    """The page's filter inputs as :class:`Filters` fields: an empty input is no filter."""
    return Filters(article_ids=list(article_ids or []), sources=list(sources or []), date_from=date_from or "",
                   date_to=date_to or "", languages=list(languages or [])).model_dump()
