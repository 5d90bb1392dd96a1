"""The web chat: a thin Gradio adapter over :class:`~assistant.Assistant`.

``python app.py`` or ``assistant serve`` → http://127.0.0.1:7860. What the page shows is built by the pure
functions of :mod:`assistant.ui_render`; this module holds the collections, the event handlers and the
Gradio wiring. Gradio is imported inside functions only, so importing this module stays cheap.

For other programs the page also serves two API endpoints (see ``docs/ui.md``)::

    from gradio_client import Client
    Client("http://127.0.0.1:7860/").predict("How many foreign troops are in Afghanistan?", api_name="/ask")
"""

import dataclasses
import json
import logging
import re
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .assistant import Assistant
from .errors import ArticleNotFoundError, AssistantError, ConfigError
from .samples import SAMPLE_INDEX, ensure_sample
from .settings import Settings
from .ui_render import (
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

__all__ = ["Collections", "ChatApp", "build_ui", "launch", "serve", "FEEDBACK_FILE"]

log = logging.getLogger(__name__)

FEEDBACK_FILE = "feedback.jsonl"
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
        """Index uploaded files into the collection; returns what happened, in plain words."""
        paths = [str(f) for f in (files or [])]
        if not paths:
            return status_html("Choose one or more .txt, .md, .html, .json or .jsonl files first.")
        try:
            report = self.collections.get(collection).add(paths, progress=progress)
        except AssistantError as e:
            return status_html(str(e), "error")
        except Exception:
            log.exception("upload into %r failed", collection)
            return status_html(_INTERNAL, "error")
        return ingest_report_html(report, collection)

    def remove(self, article_id: str | None, collection: str) -> str:
        if not article_id:
            return status_html("Choose an article to remove first.")
        try:
            self.collections.get(collection).remove(article_id)
        except AssistantError as e:
            return status_html(str(e), "error")
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

    with gr.Blocks(title="Cited news assistant") as demo:
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


def launch(demo: "gr.Blocks", settings: Settings, *, host: str | None = None, port: int | None = None,
           prevent_thread_lock: bool = False, quiet: bool = False) -> Any:
    """Serve the page (on ``settings.server.host:port`` unless given); never shared through Gradio's tunnel."""
    demo.queue(default_concurrency_limit=1)
    return demo.launch(
        server_name=host or settings.server.host,
        server_port=port or settings.server.port,
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
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: serving on {host}, reachable from other machines, without a login", file=sys.stderr)
    a = open_collection(index, settings)
    try:
        launch(build_ui(a), settings, host=host, port=port)
    finally:
        a.close()
    return 0
