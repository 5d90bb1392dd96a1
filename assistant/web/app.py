"""The web chat: a thin Gradio adapter over :class:`~assistant.Assistant`.

``python app.py`` or ``assistant serve`` → http://127.0.0.1:7860. What the page shows is built by the pure
functions of :mod:`assistant.web.render`; this module holds the collections, the event handlers and the
Gradio wiring. Gradio is imported inside functions only, so importing this module stays cheap.

For other programs the page also serves two API endpoints (see ``docs/ui.md``)::

    from gradio_client import Client
    Client("http://127.0.0.1:7860/").predict("How many foreign troops are in Afghanistan?", api_name="/ask")

Exposure (SECURITY.md): the chat binds 127.0.0.1 unless told otherwise, and :func:`launch` refuses any
other interface without a login (``server.auth_user``/``auth_password`` or ``server.auth_file``).
Uploaded files are checked (type, ``server.max_upload_mb``), renamed to a safe name, and stored in the
collection's own ``uploads/`` folder before they are indexed. The Evaluate section (:meth:`ChatApp.evaluate`)
keeps its uploads and results under ``<index_root>/eval-runs/``; it is a page action, not an API endpoint.
"""

import dataclasses
import ipaddress
import json
import logging
import os
import re
import shutil
import stat
import sys
import tempfile
import threading
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from assistant.assistant import Assistant
from assistant.errors import ArticleNotFoundError, AssistantError, ConfigError, MalformedInputError
from assistant.samples import SAMPLE_INDEX, ensure_sample
from assistant.settings import ServerSettings, Settings
from assistant.text.reading import INVISIBLE_FORMAT
from assistant.types import IngestReport
from assistant.web.render import (
    CSS,
    EXAMPLE_QUESTIONS,
    Turn,
    answer_html,
    api_answer,
    article_choices,
    article_html,
    article_placeholder_html,
    articles_table_html,
    block_dir,
    conversation_json,
    conversation_markdown,
    conversation_messages,
    error_html,
    feedback_record,
    ingest_report_html,
    parse_ref,
    pending_html,
    status_html,
)

if TYPE_CHECKING:
    import gradio as gr

__all__ = ["Collections", "ChatApp", "EvalOutcome", "build_ui", "launch", "serve", "FEEDBACK_FILE", "UPLOADS_DIR", "safe_filename",
           "resolve_auth", "is_loopback"]

log = logging.getLogger(__name__)

FEEDBACK_FILE = "feedback.jsonl"
UPLOADS_DIR = "uploads"  # inside each collection's index folder
EVAL_RUNS_DIR = "eval-runs"  # under settings.index_root: one folder per evaluation run from the page
EVAL_QUESTION_EXTENSIONS = (".json", ".jsonl")
EVAL_LIMIT = 50  # the page's default question limit, so a run from the browser stays short
RETRIEVERS = ("hybrid", "dense", "bm25")
MIN_PASSWORD_CHARS = 8
_UNSAFE_NAME_CHARS = re.compile(r'[/\\:*?"<>|]')
_NAME = re.compile(r"^[^\W][\w.-]{0,63}$")
_INTERNAL = "An internal error stopped this request; the details are in the server log."

# Runs once when the article view renders: a click on any citation marker, source card or article link
# (anywhere on the page, including inside chat messages) asks the server to open that article; when
# the view changes, the highlighted sentence is scrolled into view.
_BRIDGE_JS = """
const open = (e) => {
  const a = e.target && e.target.closest ? e.target.closest('a[href^="#cite/"], a[href^="#article/"]') : null;
  if (!a) return;
  e.preventDefault();
  e.stopPropagation();
  trigger('click', {ref: a.getAttribute('href')});
};
if (window.__assistantRefClick) document.removeEventListener('click', window.__assistantRefClick, true);
window.__assistantRefClick = open;
document.addEventListener('click', open, true);
watch('value', () => {
  const m = element.querySelector('mark.cited');
  if (m) m.scrollIntoView({block: 'center'});
});
"""


class Collections:
    """The collections the chat can switch between: index folders under ``index_root`` (plus the one it
    was started with). Opened on first use and kept open; all share the first one's embedder and LLM."""

    def __init__(self, initial: Assistant, index_root: Path | None = None):
        self.settings = initial.settings
        self.embedder = initial.embedder
        self.llm = initial.llm
        self.root = Path(index_root or initial.settings.index_root)
        self.initial = initial.path.name
        self._open: dict[str, Assistant] = {self.initial: initial}
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        """Every collection: the open ones and the index folders under the root, the initial one first."""
        found = set(self._open)
        if self.root.is_dir():
            found |= {p.name for p in self.root.iterdir() if (p / "manifest.json").is_file()}
        return [self.initial] + sorted(found - {self.initial})

    def get(self, name: str) -> Assistant:
        """The open collection ``name``; an existing index folder under the root is opened."""
        with self._lock:
            if name in self._open:
                return self._open[name]
            path = self.root / self._check(name)
            if not (path / "manifest.json").is_file():
                raise ConfigError(f"there is no collection {name!r} in {self.root}; create it first")
            return self._open_locked(name, path)

    def create(self, name: str) -> Assistant:
        """Open collection ``name``, creating an empty index folder under the root when it is new."""
        name = (name or "").strip()
        with self._lock:
            if name in self._open:
                return self._open[name]
            return self._open_locked(name, self.root / self._check(name))

    def _open_locked(self, name: str, path: Path) -> Assistant:
        a = Assistant.open(path, settings=self.settings, embedder=self.embedder, llm=self.llm)
        self._open[name] = a
        return a

    @staticmethod
    def _check(name: str) -> str:
        if not _NAME.match(name or ""):
            raise ConfigError(
                f"{name!r} is not a collection name: use up to 64 letters, digits, '-', '_' or '.', starting "
                "with a letter or digit"
            )
        return name

    def close(self) -> None:
        with self._lock:
            for a in self._open.values():
                a.close()
            self._open.clear()


class EvalOutcome(NamedTuple):
    """What an evaluation from the page gives back: a status line (HTML), the report as Markdown ("" when
    it failed), the plot PNGs and the files to download (``results.json``, ``report.md``)."""

    status: str
    markdown: str
    plots: list[str]
    files: list[str]


class ChatApp:
    """The chat's event handlers as plain methods (no Gradio types in or out), over :class:`Collections`."""

    def __init__(self, collections: Collections):
        self.collections = collections

    @property
    def settings(self) -> Settings:
        return self.collections.settings

    # --- asking -----------------------------------------------------------------------------------
    def respond(
        self,
        question: str,
        turns: list[Turn],
        collection: str,
        max_citations: int | None = None,
        mode: str | None = None,
        article_ids: Sequence[str] | None = None,
    ) -> Iterator[tuple[list[dict[str, str]], list[Turn]]]:
        """Stream one answer into the conversation: yields (chat messages, turns) as it grows. Earlier
        questions asked of the same collection are passed as history, so follow-ups work."""
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
            a = self.collections.get(collection)
            text = ""
            final = None
            limit = int(max_citations) if max_citations else None
            for event in a.ask_stream(q, mode=mode or None, max_citations=limit,  # type: ignore[arg-type]
                                      article_ids=list(article_ids or []) or None, history=history):
                if event.answer is not None:
                    final = event.answer
                elif event.delta:
                    text += event.delta
                    turn.html = pending_html(text, lang)
                    yield conversation_messages(turns), turns
            assert final is not None  # ask_stream always ends with the answer
            turn.answer = dataclasses.replace(final, passages=[])
            turn.html = answer_html(final, self._texts(a, final.citations), collection)
        except AssistantError as e:
            turn.error = str(e)
            turn.html = error_html(str(e), lang)
        except Exception:
            log.exception("answering %r failed", q)
            turn.error = _INTERNAL
            turn.html = error_html(_INTERNAL, lang)
        yield conversation_messages(turns), turns

    @staticmethod
    def _texts(a: Assistant, citations: Sequence[Any]) -> dict[str, str]:
        texts: dict[str, str] = {}
        for aid in {c.article_id for c in citations}:
            try:
                texts[aid] = a.article(aid)[1]
            except ArticleNotFoundError:  # removed meanwhile: the card shows the sentence alone
                pass
        return texts

    def open_ref(self, href: str | None) -> str:
        """The article view for a clicked ``#cite/…`` or ``#article/…`` link."""
        ref = parse_ref(href)
        if ref is None:
            return status_html(f"Not a link to an article: {href!r}", "error")
        try:
            info, text = self.collections.get(ref.collection).article(ref.article_id)
        except AssistantError as e:
            return status_html(str(e), "error")
        except Exception:
            log.exception("opening %r failed", href)
            return status_html(_INTERNAL, "error")
        return article_html(info, text, ref.start, ref.end)

    # --- collection -------------------------------------------------------------------------------
    def collection_view(self, collection: str) -> tuple[str, list[tuple[str, str]]]:
        """(article list HTML, article choices) of a collection."""
        infos = self.collections.get(collection).articles()
        return articles_table_html(infos, collection), article_choices(infos)

    def upload(
        self, files: Sequence[str] | None, collection: str, progress: Callable[[int, int, str], None] | None = None
    ) -> str:
        """Index uploaded files into the collection; returns what happened, in plain words.

        Each file is checked (an extension of ``ingest.extensions``, at most ``server.max_upload_mb``),
        copied under a safe name (:func:`safe_filename`) into ``<index folder>/uploads/`` and indexed from
        there; its article id is that name without extension. A file refused or unreadable is listed
        with its reason (by name: server paths are not shown) and not kept."""
        paths = [str(f) for f in (files or [])]
        if not paths:
            return status_html("Choose one or more .txt, .md, .html, .json or .jsonl files first.")
        try:
            a = self.collections.get(collection)
            folder = a.path / UPLOADS_DIR
            saved, refused = self._store_uploads(paths, folder)
            report = a.add(saved, progress=progress) if saved else IngestReport()
        except AssistantError as e:
            return status_html(str(e), "error")
        except Exception:
            log.exception("upload into %r failed", collection)
            return status_html(_INTERNAL, "error")
        for dest in saved:
            if any(where == str(dest) for where, _ in report.failed):
                dest.unlink(missing_ok=True)  # nothing of it was indexed
        prefix = str(folder) + os.sep
        report.failed = refused + [(w[len(prefix):] if w.startswith(prefix) else w, why) for w, why in report.failed]
        return ingest_report_html(report, collection)

    def _store_uploads(self, paths: Sequence[str], folder: Path, extensions: Sequence[str] | None = None
                       ) -> tuple[list[Path], list[tuple[str, str]]]:
        """Copy acceptable uploads into ``folder``; returns (stored paths, [(name, why refused)]).
        ``extensions``: the types taken (default ``ingest.extensions``)."""
        limit = self.settings.server.max_upload_mb * 1_000_000
        extensions = tuple(extensions or self.settings.ingest.extensions)
        saved: list[Path] = []
        refused: list[tuple[str, str]] = []
        used: set[str] = set()
        for p in paths:
            src = Path(p)
            name = safe_filename(src.name)
            ext = Path(name).suffix.lower()
            try:
                st = src.lstat()
            except OSError:
                refused.append((name, "was not received; upload it again"))
                continue
            if not stat.S_ISREG(st.st_mode):
                refused.append((name, "is not a regular file"))
            elif ext not in extensions:
                refused.append((name, f"'{ext or 'no extension'}' is not a type we take; upload "
                                      f"{', '.join(extensions)} files"))
            elif st.st_size > limit:
                refused.append((name, f"is {_size(st.st_size)}, over the upload limit of {_size(limit)} "
                                      "(server.max_upload_mb)"))
            elif name.casefold() in used:
                refused.append((name, "has the same name as another file of this upload; rename one"))
            else:
                used.add(name.casefold())
                folder.mkdir(parents=True, exist_ok=True)
                dest = folder / name
                if dest.resolve().parent != folder.resolve():  # safe_filename makes this impossible; keep it so
                    refused.append((name, "is not a safe file name"))
                    continue
                tmp = folder / f".{name}.part"
                shutil.copyfile(src, tmp)
                os.replace(tmp, dest)
                saved.append(dest)
        return saved, refused

    def remove(self, article_id: str | None, collection: str) -> str:
        if not article_id:
            return status_html("Choose an article to remove first.")
        try:
            a = self.collections.get(collection)
            info = next((i for i in a.articles() if i.id == article_id), None)
            a.remove(article_id)
        except AssistantError as e:
            return status_html(str(e), "error")
        if info is not None and info.path:  # an uploaded file no other article comes from goes too
            path = Path(info.path)
            if path.parent == a.path / UPLOADS_DIR and not any(i.path == info.path for i in a.articles()):
                path.unlink(missing_ok=True)
        return status_html(f"Removed {article_id} from {collection}.")

    # --- feedback and export ----------------------------------------------------------------------
    def feedback(self, turns: Sequence[Turn], turn_index: int, vote: str, comment: str | None = None) -> str:
        """Append a vote (with an optional comment) on one answer to ``<index folder>/feedback.jsonl``.
        A later line for the same ``turn_id`` (a comment after the vote) supersedes an earlier one."""
        if not 0 <= turn_index < len(turns):
            return status_html("That answer is no longer in this conversation.", "error")
        turn = turns[turn_index]
        try:
            path = self.collections.get(turn.collection).path / FEEDBACK_FILE
            with path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(feedback_record(turn, vote, comment), ensure_ascii=False) + "\n")
        except (AssistantError, OSError) as e:
            return status_html(f"Could not save the feedback: {e}", "error")
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

    # --- evaluation -------------------------------------------------------------------------------
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

        ``questions``: SQuAD v1.1 JSON, or our JSONL over the uploaded ``articles`` (or, without them, over
        the articles of ``collection``). The uploads are checked like article uploads and copied into
        ``<index_root>/eval-runs/<timestamp>/``, where ``results.json``, ``report.md`` and the plots are
        written; the index is the evaluator's default ``eval-<set>-<model tag>``. The app's embedder, LLM and
        settings are shared. ``limit``: the first N questions (0 or empty: all). Errors come back as a plain
        status message, never raised."""
        from assistant.evaluation.report import render_report
        from assistant.evaluation.run import run_evaluation

        if not questions:
            return _eval_failed("Choose a question file first: SQuAD v1.1 JSON (.json) or our JSONL (.jsonl).")
        run_dir: Path | None = None
        try:
            if retriever not in RETRIEVERS:
                raise ConfigError(f"retriever must be 'hybrid', 'dense' or 'bm25', not {retriever!r}")
            if mode not in ("extractive", "generative"):
                raise ConfigError(f"mode must be 'extractive' or 'generative', not {mode!r}")
            n_unanswerable = _count(unanswerable, "the number of unanswerable questions")
            n_limit = _count(limit, "the question limit") or None
            run_dir = self._new_run_dir()
            saved, refused = self._store_uploads([str(questions)], run_dir / "input", EVAL_QUESTION_EXTENSIONS)
            if refused:
                name, why = refused[0]
                return _eval_failed(f"{name} {why}.", run_dir)
            qfile = saved[0]
            notes: list[str] = []
            article_paths = [str(f) for f in (articles or [])]
            corpus: list[Path] | None = None
            over: Assistant | None = None  # a JSONL set without article files: the collection's articles
            if qfile.suffix.lower() == ".jsonl":
                if article_paths:
                    stored, refused = self._store_uploads(article_paths, run_dir / "articles")
                    if refused:
                        return _eval_failed("The evaluation needs every article file: "
                                            + "; ".join(f"{n} {why}" for n, why in refused) + ".", run_dir)
                    corpus = [run_dir / "articles"]
                else:
                    a = self.collections.get(collection or self.collections.initial)
                    if not a.articles():
                        return _eval_failed(f"{qfile.name} needs its articles: upload the article files with it, or "
                                            f"add them to the collection {a.path.name} (it is empty).", run_dir)
                    over = a
                    notes.append(f"over the articles of the collection {a.path.name}")
            elif article_paths:
                notes.append("the article files were not used: a SQuAD file holds its own articles")
            self._check_question_set(qfile, corpus, over)
            run = run_evaluation(
                qfile, articles=corpus, index=over.path if over is not None else None, mode=mode, retriever=retriever, unanswerable=n_unanswerable,
                limit=n_limit, settings=self.settings, embedder=self.collections.embedder, llm=self.collections.llm,
                progress=progress,
            )
            run.save(run_dir)
            try:
                report = render_report(run, run_dir, plots=True)
            except ConfigError as e:  # no matplotlib: the tables alone
                notes.append(str(e))
                report = render_report(run, run_dir, plots=False)
        except AssistantError as e:
            return _eval_failed(self._hide_paths(str(e), run_dir), run_dir)
        except Exception:
            log.exception("evaluating %r failed", questions)
            return _eval_failed(_INTERNAL, run_dir)
        # Served from a temp copy: Gradio serves only files under the working or temp folder, and
        # index_root may be anywhere.
        out = Path(tempfile.mkdtemp(prefix="assistant-eval-"))
        files = [shutil.copy(run_dir / "results.json", out), shutil.copy(report.path, out)]
        plots = [shutil.copy(p, out) for p in report.plots]
        m = run.metrics["all"]
        done = (f"Evaluated {m.n} question(s)" + (f" and {m.n_unanswerable} unanswerable" if m.n_unanswerable else "")
                + f" of {run.config['set']} in {run.config['seconds']} s"
                + "".join(f"; {n}" for n in notes) + f". Saved in {EVAL_RUNS_DIR}/{run_dir.name}.")
        return EvalOutcome(status_html(done), self._report_for_page(report.markdown), [str(p) for p in plots],
                           [str(f) for f in files])

    def _new_run_dir(self) -> Path:
        """A new folder ``<index_root>/eval-runs/<timestamp>`` (a suffix when two runs start together)."""
        parent = Path(self.settings.index_root) / EVAL_RUNS_DIR
        parent.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        for n in range(1, 1000):
            path = parent / (stamp if n == 1 else f"{stamp}-{n}")
            try:
                path.mkdir()
                return path
            except FileExistsError:
                continue
        raise ConfigError(f"cannot make a new run folder in {parent}; clear out old runs")

    def _check_question_set(self, qfile: Path, corpus: list[Path] | None, over: Assistant | None) -> None:
        """Read the question set once before anything is indexed, so a file of the wrong shape gets a plain
        MalformedInputError naming it (the reader raises KeyError and the like on some shapes)."""
        from assistant.evaluation.qasets import load_questions, read_articles

        s = self.settings
        try:
            if corpus is not None:
                arts = read_articles(corpus, s.ingest.extensions, int(s.ingest.max_file_mb * 1_000_000))
            elif over is not None:
                arts = [i.to_article(over.article(i.id)[1]) for i in over.articles()]
            else:
                arts = None
            qset = load_questions(qfile, arts or None, s.chunking.max_sentence_chars)
        except AssistantError:
            raise
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as e:
            raise MalformedInputError(qfile.name, "is not SQuAD v1.1 JSON nor our JSONL question format "
                                      f"({type(e).__name__}: {e}); see docs/evaluation.md") from e
        if not qset.questions:
            raise MalformedInputError(qfile.name, "holds no questions to ask")

    def _hide_paths(self, message: str, run_dir: Path | None) -> str:
        """``message`` without the server's folders: files are named as uploaded."""
        folders = [run_dir / "input", run_dir / "articles", run_dir] if run_dir else []
        for folder in [*folders, Path(self.settings.index_root), self.collections.root]:
            for form in dict.fromkeys([str(folder.resolve()), str(folder)]):  # the longer form first
                message = message.replace(form + os.sep, "")
        return message

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
    ) -> dict[str, Any]:
        """The answer as data (``Answer.to_dict()`` without passages); raises AssistantError."""
        a = self.collections.get(collection or self.collections.initial)
        if mode not in ("", "extractive", "generative"):
            raise ConfigError(f"mode must be 'extractive' or 'generative', not {mode!r}")
        ans = a.ask(question, mode=mode or None, max_citations=max_citations or None,  # type: ignore[arg-type]
                    article_ids=article_ids or None, history=history or [])
        return api_answer(ans)

    def api_articles(self, collection: str = "") -> list[dict[str, Any]]:
        """The articles of a collection as data, without the server-side ``path`` (a dict holding a "path"
        would also be taken for a file to download by gradio_client)."""
        infos = self.collections.get(collection or self.collections.initial).articles()
        return [{k: v for k, v in i.to_dict().items() if k != "path"} for i in infos]


def build_ui(assistant: Assistant, *, index_root: Path | None = None) -> "gr.Blocks":
    """The chat page over ``assistant`` (its collection is the one shown first). Collections found
    under ``index_root`` (default: ``settings.index_root``) can be switched to or created."""
    import gradio as gr

    app = ChatApp(Collections(assistant, index_root))
    settings = app.settings
    first = app.collections.initial
    table0, choices0 = app.collection_view(first)
    private: dict[str, Any] = {"api_visibility": "private"}

    # Gradio's own copies of uploads (in its temp folder) expire after an hour; ours are in the index.
    with gr.Blocks(title="Cited news assistant", delete_cache=(3600, 3600)) as demo:
        turns = gr.State([])
        pending_vote = gr.State(None)  # (turn index, vote) awaiting an optional comment
        gr.Markdown(
            "## Cited news assistant · مساعد الأخبار\n"
            "Ask about the articles in Arabic or English; every answer cites the sentences it comes from. "
            "Click a marker [n] or a source card to read the sentence in its article.  \n"
            "اسأل بالعربية أو بالإنجليزية؛ كل إجابة تستشهد بالجمل التي أُخذت منها."
        )
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(
                    elem_id="chat", label="Conversation", height=620, latex_delimiters=[], layout="bubble",
                    feedback_options=("Like", "Dislike"), buttons=[],  # a copy button would copy the HTML
                )
                with gr.Row():
                    question = gr.Textbox(
                        elem_id="question", show_label=False, scale=5, lines=1, max_lines=4, rtl=False,
                        placeholder="Ask a question… · اكتب سؤالك…",
                    )
                    send = gr.Button("Ask · اسأل", variant="primary", scale=1, elem_id="ask-btn")
                gr.Examples(examples=[[q] for q in EXAMPLE_QUESTIONS], inputs=[question],
                            label="Example questions about the sample article · أسئلة مقترحة")
                with gr.Row(visible=False, elem_id="comment-row") as comment_row:
                    comment = gr.Textbox(label="Comment on your rating (optional)", scale=5, elem_id="feedback-comment")
                    comment_send = gr.Button("Send comment", scale=1, elem_id="comment-btn")
                feedback_status = gr.HTML(elem_id="feedback-status", js_on_load=None)
                with gr.Row():
                    clear = gr.Button("New conversation", elem_id="clear-btn")
                    export = gr.Button("Export conversation (Markdown + JSON)", elem_id="export-btn")
                exports = gr.File(label="Exported conversation", file_count="multiple", interactive=False,
                                  elem_id="exports")
            with gr.Column(scale=2):
                article_view = gr.HTML(article_placeholder_html(), elem_id="article-view", js_on_load=_BRIDGE_JS,
                                       max_height=720, label="Article", show_label=True, container=True)
        with gr.Accordion("Collection and articles · المجموعة والمقالات", open=True):
            with gr.Row():
                collection = gr.Dropdown(choices=app.collections.names(), value=first, label="Collection",
                                         elem_id="collection", interactive=True, scale=2)
                new_name = gr.Textbox(label="New collection name", elem_id="new-collection", scale=2)
                create = gr.Button("Create and switch", elem_id="create-btn", scale=1)
            with gr.Row():
                files = gr.File(label="Add articles (.txt .md .html .json .jsonl)", file_count="multiple",
                                file_types=list(settings.ingest.extensions), type="filepath", elem_id="upload",
                                scale=3)
                with gr.Column(scale=2):
                    add = gr.Button("Add to collection", variant="primary", elem_id="add-btn")
                    to_remove = gr.Dropdown(choices=choices0, value=None, label="Article", elem_id="remove-choice")
                    remove = gr.Button("Remove article", variant="stop", elem_id="remove-btn")
            status = gr.HTML(elem_id="collection-status", js_on_load=None)
            articles = gr.HTML(table0, elem_id="articles-list", js_on_load=None)
        with gr.Accordion("Settings · الإعدادات", open=False):
            with gr.Row():
                n_citations = gr.Slider(1, 10, value=settings.answer.max_citations, step=1,
                                        label="Number of citations", elem_id="n-citations")
                mode = gr.Radio(["extractive", "generative"], value=settings.answer.mode, label="Answer mode",
                                info="Generative needs a configured LLM; without one it answers extractively, "
                                "with a notice.", elem_id="mode")
            only = gr.Dropdown(choices=choices0, value=[], multiselect=True, elem_id="article-filter",
                               label="Search only these articles (none chosen: all)")
        with gr.Accordion("Evaluate · التقييم", open=False, elem_id="evaluate"):
            gr.Markdown(
                "Score the assistant on a question set: SQuAD v1.1 JSON (its paragraphs are the articles), or our "
                "JSONL with its article files, asked of an evaluation index `eval-<set>-…` built for them; a JSONL "
                "set without article files is asked of this collection. See docs/evaluation.md."
            )
            with gr.Row():
                eval_questions = gr.File(label="Question set (.json SQuAD v1.1 or .jsonl)", file_count="single",
                                         file_types=list(EVAL_QUESTION_EXTENSIONS), type="filepath",
                                         elem_id="eval-questions", scale=2)
                eval_articles = gr.File(label="Articles of a .jsonl set (optional)", file_count="multiple",
                                        file_types=list(settings.ingest.extensions), type="filepath",
                                        elem_id="eval-articles", scale=2)
            with gr.Row():
                eval_retriever = gr.Radio(list(RETRIEVERS), value="hybrid", label="Retriever", elem_id="eval-retriever")
                eval_mode = gr.Radio(["extractive", "generative"], value="extractive", label="Answer mode",
                                     elem_id="eval-mode")
                eval_unanswerable = gr.Number(0, minimum=0, precision=0, label="Unanswerable questions",
                                              info="asked of the index without their articles", elem_id="eval-unanswerable")
                eval_limit = gr.Number(EVAL_LIMIT, minimum=0, precision=0, label="Question limit",
                                       info="the first N questions; 0: all", elem_id="eval-limit")
            eval_run = gr.Button("Run evaluation", variant="primary", elem_id="eval-btn")
            eval_status = gr.HTML(elem_id="eval-status", js_on_load=None)
            eval_report = gr.Markdown(elem_id="eval-report", latex_delimiters=[], sanitize_html=True)
            eval_plots = gr.Gallery(label="Plots", columns=3, height="auto", object_fit="contain",
                                    elem_id="eval-plots", interactive=False)
            eval_files = gr.File(label="results.json and report.md", file_count="multiple", interactive=False,
                                 elem_id="eval-files")

        # --- events ---------------------------------------------------------------------------------
        def on_ask(q: str, ts: list[Turn], coll: str, n: int, m: str, ids: list[str]) -> Iterator[tuple[Any, ...]]:
            for messages, new_turns in app.respond(q, ts, coll, n, m, ids):
                yield messages, new_turns, ""

        ask_args = {"fn": on_ask, "inputs": [question, turns, collection, n_citations, mode, only],
                    "outputs": [chatbot, turns, question], **private}
        question.submit(**ask_args)
        send.click(**ask_args)

        def on_ref(evt: gr.EventData) -> str:  # the page script sends {ref: "#cite/…"}
            try:
                href = evt.ref
            except (AttributeError, TypeError):  # no data with the event
                href = None
            return app.open_ref(href)

        article_view.click(on_ref, None, article_view, **private)

        def refresh(coll: str, message: str = "") -> tuple[Any, ...]:
            try:
                table, choices = app.collection_view(coll)
            except AssistantError as e:
                return status_html(str(e), "error"), gr.update(), gr.update(), gr.update()
            message = message or status_html(f"Collection {coll}: {len(choices)} article(s).")
            return message, table, gr.update(choices=choices, value=None), gr.update(choices=choices, value=[])

        coll_outputs = [status, articles, to_remove, only]
        collection.input(refresh, [collection], coll_outputs, **private)

        def on_create(name: str) -> tuple[Any, ...]:
            try:
                app.collections.create(name)
            except AssistantError as e:
                return gr.update(), status_html(str(e), "error"), gr.update(), gr.update(), gr.update(), name
            name = name.strip()
            ready = status_html(f"Collection {name} is ready; add articles to it.")
            return (gr.update(choices=app.collections.names(), value=name), *refresh(name, ready), "")

        create.click(on_create, [new_name], [collection, *coll_outputs, new_name], **private)

        def on_upload(paths: list[str] | None, coll: str, progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:  # noqa: B008
            progress(0, desc=f"Indexing {len(paths or [])} file(s)…")
            result = app.upload(paths, coll, progress=lambda d, t, aid: progress((d, t), desc=f"Indexed {aid}"))
            return (*refresh(coll, result), None)

        add.click(on_upload, [files, collection], [*coll_outputs, files], **private)

        def on_remove(aid: str | None, coll: str) -> tuple[Any, ...]:
            return refresh(coll, app.remove(aid, coll))

        remove.click(on_remove, [to_remove, collection], coll_outputs, **private)

        def on_like(ts: list[Turn], evt: gr.LikeData) -> tuple[Any, ...]:
            index = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
            vote = "up" if evt.liked is True else "down" if evt.liked is False else str(evt.liked)
            turn_index = int(index) // 2
            return app.feedback(ts, turn_index, vote), (turn_index, vote), gr.update(visible=True)

        chatbot.like(on_like, [turns], [feedback_status, pending_vote, comment_row], **private)

        def on_comment(ts: list[Turn], pending: tuple[int, str] | None, text: str) -> tuple[Any, ...]:
            if not pending:
                return status_html("Rate an answer with 👍 or 👎 first."), text, gr.update()
            if not (text or "").strip():
                return status_html("Write a comment first, or leave it: the rating is saved."), text, gr.update()
            return app.feedback(ts, pending[0], pending[1], text), "", gr.update(visible=False)

        comment_send.click(on_comment, [turns, pending_vote, comment], [feedback_status, comment, comment_row],
                           **private)

        clear.click(lambda: ([], [], article_placeholder_html(), "", None), None,
                    [chatbot, turns, article_view, feedback_status, pending_vote], **private)
        chatbot.clear(lambda: ([], article_placeholder_html(), "", None), None,  # its own 🗑 button
                      [turns, article_view, feedback_status, pending_vote], **private)
        export.click(lambda ts: list(app.export(ts)), [turns], [exports], **private)

        def on_evaluate(qfile: str | None, arts: list[str] | None, retr: str, m: str, n_unans: float | None,
                        lim: float | None, coll: str, progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:  # noqa: B008
            progress(0, desc="Reading the question set…")
            out = app.evaluate(qfile, retr, m, n_unans, lim, lambda d, t, stage: progress((d, t), desc=stage),
                               articles=arts, collection=coll)
            return out.status, out.markdown, out.plots, out.files or None

        eval_run.click(on_evaluate, [eval_questions, eval_articles, eval_retriever, eval_mode, eval_unanswerable,
                                     eval_limit, collection], [eval_status, eval_report, eval_plots, eval_files],
                       **private)

        def on_load(coll: str) -> tuple[Any, ...]:
            return (gr.update(choices=app.collections.names()), *refresh(coll)[1:])

        demo.load(on_load, [collection], [collection, articles, to_remove, only], **private)

        gr.api(_ask_endpoint(app), api_name="ask")
        gr.api(_articles_endpoint(app), api_name="articles")
    return demo


def _ask_endpoint(app: ChatApp) -> Callable[..., dict[str, Any]]:
    import gradio as gr

    def ask(
        question: str,
        collection: str = "",
        max_citations: int = 0,
        mode: str = "",
        article_ids: list[str] | None = None,
        history: list[str] | None = None,
    ) -> dict[str, Any]:
        """Answer a question from a collection's articles, with citations.

        Args:
            question: the question, in Arabic or English.
            collection: the collection (index) to ask; empty: the one the server started with.
            max_citations: most sentences cited; 0: the server's setting.
            mode: "extractive" or "generative"; empty: the server's setting.
            article_ids: search only these articles; empty: all.
            history: earlier questions of the conversation, oldest first (for follow-ups).
        Returns:
            The answer: question, text with [n] markers, lang, abstained, mode, notice, and citations
            (n, article_id, sentence_id, text, start, end, score, title, source, date, lang), where
            start/end are code-point offsets of the cited sentence in the article text.
        """
        try:
            return app.api_ask(question, collection, max_citations, mode, article_ids, history)
        except AssistantError as e:
            raise gr.Error(str(e), print_exception=False) from e

    return ask


def _articles_endpoint(app: ChatApp) -> Callable[..., list[dict[str, Any]]]:
    import gradio as gr

    def articles(collection: str = "") -> list[dict[str, Any]]:
        """The articles of a collection (id, title, source, date, lang, n_sentences, content_hash).

        Args:
            collection: the collection (index); empty: the one the server started with.
        """
        try:
            return app.api_articles(collection)
        except AssistantError as e:
            raise gr.Error(str(e), print_exception=False) from e

    return articles


def _eval_failed(message: str, run_dir: Path | None = None) -> EvalOutcome:
    """A failed evaluation: the plain message, and nothing of the run kept."""
    if run_dir is not None:
        shutil.rmtree(run_dir, ignore_errors=True)
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


def _size(n_bytes: float) -> str:
    return f"{n_bytes / 1e6:.1f} MB" if n_bytes >= 100_000 else f"{n_bytes / 1e3:.1f} kB"


def safe_filename(name: str) -> str:
    """A name an uploaded file can be stored under: its last path part only (either slash), without
    control or invisible formatting characters, without ``: * ? " < > |``, leading dots or trailing
    dots and spaces, at most 120 characters before the extension; "upload" when nothing is left.
    Letters of any script stay: "تقرير.txt" stays "تقرير.txt"."""
    base = re.split(r"[/\\]", unicodedata.normalize("NFC", name or ""))[-1]
    base = "".join(ch for ch in INVISIBLE_FORMAT.sub("", base) if unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp"))
    base = _UNSAFE_NAME_CHARS.sub("_", base).strip().lstrip(".").rstrip(". ")
    stem, ext = os.path.splitext(base)
    if not stem:
        stem, ext = (ext.lstrip(".") or "upload"), ""
    return stem[:120] + ext[:16]


def is_loopback(host: str) -> bool:
    """True for names and addresses that only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def resolve_auth(server: ServerSettings) -> list[tuple[str, str]]:
    """The accounts that may log in: ``auth_user`` with ``auth_password``, and every ``user:password``
    line of ``auth_file`` (blank lines and ``#`` comments skipped). Raises ConfigError on a half-set
    pair, an unreadable or malformed file, or a password shorter than 8 characters."""
    accounts: list[tuple[str, str]] = []
    if server.auth_user or server.auth_password:
        if not (server.auth_user and server.auth_password):
            raise ConfigError("set both server.auth_user and server.auth_password (ASSISTANT_SERVER__AUTH_USER, "
                              "ASSISTANT_SERVER__AUTH_PASSWORD), or neither")
        accounts.append((server.auth_user, server.auth_password.get_secret_value()))
    if server.auth_file:
        path = Path(server.auth_file)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"cannot read server.auth_file {path} ({e}); give a file of 'user:password' lines") from e
        before = len(accounts)
        for n, line in enumerate(lines, 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            user, sep, password = line.partition(":")
            if not sep or not user.strip() or not password:
                raise ConfigError(f"{path}:{n}: expected 'user:password'")
            accounts.append((user.strip(), password))
        if len(accounts) == before:
            raise ConfigError(f"server.auth_file {path} holds no 'user:password' line")
    for user, password in accounts:
        if len(password) < MIN_PASSWORD_CHARS:
            raise ConfigError(f"the password of {user!r} is shorter than {MIN_PASSWORD_CHARS} characters; choose a longer one")
    return accounts


def _auth_file_warning(server: ServerSettings) -> str | None:
    if server.auth_file and Path(server.auth_file).exists():
        mode = Path(server.auth_file).stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            return f"warning: {server.auth_file} can be read by other users; `chmod 600` it"
    return None


def _login_for(host: str, server: ServerSettings) -> list[tuple[str, str]]:
    """The accounts to require on ``host``; ConfigError when it is not loopback and there are none."""
    accounts = resolve_auth(server)
    if not is_loopback(host) and not accounts:
        raise ConfigError(
            f"refusing to serve on {host}: beyond this machine the chat needs a login. Set server.auth_user and "
            "server.auth_password (ASSISTANT_SERVER__AUTH_USER, ASSISTANT_SERVER__AUTH_PASSWORD) or "
            "server.auth_file (`assistant serve --auth-file FILE`, one 'user:password' per line), or serve on "
            "127.0.0.1"
        )
    return accounts


def launch(demo: "gr.Blocks", settings: Settings, *, host: str | None = None, port: int | None = None,
           prevent_thread_lock: bool = False, quiet: bool = False) -> Any:
    """Serve the page (on ``settings.server.host:port`` unless given); never shared through Gradio's tunnel.

    Any interface but loopback needs a login: without accounts (see :func:`resolve_auth`) this raises
    ConfigError before anything listens. Accounts, when set, are required on loopback too."""
    host = host or settings.server.host
    accounts = _login_for(host, settings.server)
    demo.queue(default_concurrency_limit=1)
    return demo.launch(
        server_name=host,
        server_port=port or settings.server.port,
        auth=accounts or None,
        auth_message="Log in to the cited news assistant." if accounts else None,
        share=False,
        max_file_size=int(settings.server.max_upload_mb * 1_000_000),
        css=CSS,
        ssr_mode=False,
        mcp_server=False,
        pwa=False,
        enable_monitoring=False,
        show_error=False,
        footer_links=["api"],
        prevent_thread_lock=prevent_thread_lock,
        quiet=quiet,
    )


def open_collection(index: str | Path = SAMPLE_INDEX, settings: Settings | None = None, *, embedder: Any = None) -> Assistant:
    """Open the index to serve; the ``sample`` index is (re)filled from the bundled sample articles."""
    settings = settings or Settings()
    a = Assistant.open(index, settings=settings, embedder=embedder)
    if str(index) == SAMPLE_INDEX:
        rep = ensure_sample(a)
        if rep.added or rep.replaced:
            print(f"indexed {len(rep.added) + len(rep.replaced)} sample article(s) into {a.path}", file=sys.stderr)
    return a


def serve(index: str | Path = SAMPLE_INDEX, *, host: str | None = None, port: int | None = None,
          settings: Settings | None = None) -> int:
    """Open ``index`` and serve the chat over it until interrupted (what ``python app.py`` runs)."""
    settings = settings or Settings()
    host = host or settings.server.host
    accounts = _login_for(host, settings.server)  # refuses here, before the model loads
    if accounts:
        print(f"login required: {len(accounts)} account(s) ({', '.join(u for u, _ in accounts)}); serving on "
              f"{host}", file=sys.stderr)
        if (warning := _auth_file_warning(settings.server)) is not None:
            print(warning, file=sys.stderr)
    else:
        print(f"serving on {host} only (this machine); no login. To serve on a network, set server.auth_user and "
              "server.auth_password, or server.auth_file, and --host", file=sys.stderr)
    a = open_collection(index, settings)
    try:
        launch(build_ui(a), settings, host=host, port=port)
    finally:
        a.close()
    return 0
