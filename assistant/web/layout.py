"""The Gradio wiring of the chat page: :func:`build_ui` lays the page out and connects its events to the
handlers of :class:`~assistant.web.chat.ChatApp`, and serves the two API endpoints ``/ask`` and
``/articles`` (the ChatApp methods ``api_ask`` and ``api_articles``, see ``docs/ui.md``). Gradio is imported
inside functions only, so importing this module stays cheap."""

import functools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.assistant import Assistant
from assistant.errors import AssistantError
from assistant.evaluation.run import RETRIEVERS
from assistant.evaluation.workflow import QUESTION_EXTENSIONS
from assistant.service.service import CollectionService
from assistant.types import ANSWER_MODES
from assistant.web.articles import article_placeholder_html
from assistant.web.chat import EVAL_LIMIT, ChatApp
from assistant.web.conversation import Turn
from assistant.web.markup import status_html

if TYPE_CHECKING:
    import gradio as gr

__all__ = ["build_ui", "EXAMPLE_QUESTIONS"]

EXAMPLE_QUESTIONS: tuple[str, ...] = (
    "كم عدد القوات الأجنبية في أفغانستان؟",
    "ماذا تريد إيران مقابل المحادثات؟",
    "How many foreign troops are in Afghanistan?",
    "Who opposes easing sanctions on Iran?",
)

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

def build_ui(assistant: Assistant, *, index_root: Path | None = None) -> "gr.Blocks":
    """The chat page over ``assistant`` (its collection is the one shown first). Collections found
    under ``index_root`` (default: ``settings.index_root``) can be switched to or created."""
    import gradio as gr

    app = ChatApp(CollectionService.over(assistant, index_root))
    settings = app.settings
    first = app.collections.initial
    table0, choices0, sources0 = app.collection_view(first)
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
        loading = app.model_status()
        model_status = gr.HTML(loading, elem_id="model-status", js_on_load=None, visible=bool(loading))
        # until the model has loaded, the notice above is checked every second; then it goes and the check stops

        def on_tick() -> tuple[Any, Any]:
            now = app.model_status()
            return gr.update(value=now, visible=bool(now)), gr.Timer(active=bool(now))

        model_timer = gr.Timer(1.0, active=bool(loading))
        model_timer.tick(on_tick, None, [model_status, model_timer], **private)
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
                # hidden until an export fills it (empty, it took a screen of space)
                exports = gr.File(label="Exported conversation", file_count="multiple", interactive=False,
                                  elem_id="exports", visible=False)
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
                files = gr.File(label="Add articles (.txt .md .html .json .jsonl .pdf .docx)", file_count="multiple",
                                file_types=list(settings.ingest.extensions), type="filepath", elem_id="upload",
                                scale=3)
                with gr.Column(scale=2):
                    add = gr.Button("Add to collection", variant="primary", elem_id="add-btn")
                    page_url = gr.Textbox(label="Or a web page's address · أو عنوان صفحة", elem_id="page-url",
                                          placeholder="https://…")
                    add_url = gr.Button("Fetch and add", elem_id="add-url-btn")
                    to_remove = gr.Dropdown(choices=choices0, value=None, label="Article", elem_id="remove-choice")
                    remove = gr.Button("Remove article", variant="stop", elem_id="remove-btn")
            status = gr.HTML(elem_id="collection-status", js_on_load=None)
            articles = gr.HTML(table0, elem_id="articles-list", js_on_load=None)
        with gr.Accordion("Settings · الإعدادات", open=False):
            with gr.Row():
                n_citations = gr.Slider(1, 10, value=settings.answer.max_citations, step=1,
                                        label="Number of citations", elem_id="n-citations")
                mode = gr.Radio(list(ANSWER_MODES), value=settings.answer.mode, label="Answer mode",
                                info="Generative needs a configured LLM; without one it answers extractively, "
                                "with a notice.", elem_id="mode")
            only = gr.Dropdown(choices=choices0, value=[], multiselect=True, elem_id="article-filter",
                               label="Search only these articles (none chosen: all)")
            with gr.Row():
                only_sources = gr.Dropdown(choices=sources0, value=[], multiselect=True, elem_id="source-filter",
                                           label="Only these sources · المصادر (none chosen: all)")
                only_langs = gr.CheckboxGroup(["ar", "en"], value=[], label="Only articles in · اللغة",
                                              elem_id="language-filter")
            with gr.Row():
                date_from = gr.Textbox(label="From date · من تاريخ", placeholder="2019-06-01 · 1 يونيو 2019",
                                       elem_id="date-from")
                date_to = gr.Textbox(label="To date · إلى تاريخ", placeholder="2019-06-30", elem_id="date-to")
        with gr.Accordion("Evaluate · التقييم", open=False, elem_id="evaluate"):
            gr.Markdown(
                "Score the assistant on a question set: SQuAD v1.1 JSON (its paragraphs are the articles), or our "
                "JSONL with its article files, asked of an evaluation index `eval-<set>-…` built for them; a JSONL "
                "set without article files is asked of this collection. See docs/evaluation.md."
            )
            with gr.Row():
                eval_questions = gr.File(label="Question set (.json SQuAD v1.1 or .jsonl)", file_count="single",
                                         file_types=list(QUESTION_EXTENSIONS), type="filepath",
                                         elem_id="eval-questions", scale=2)
                eval_articles = gr.File(label="Articles of a .jsonl set (optional)", file_count="multiple",
                                        file_types=list(settings.ingest.extensions), type="filepath",
                                        elem_id="eval-articles", scale=2)
            with gr.Row():
                eval_retriever = gr.Radio(list(RETRIEVERS), value="hybrid", label="Retriever", elem_id="eval-retriever")
                eval_mode = gr.Radio(list(ANSWER_MODES), value="extractive", label="Answer mode",
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
        def on_ask(q: str, ts: list[Turn], coll: str, n: int, m: str, ids: list[str], srcs: list[str],
                   langs: list[str], d_from: str, d_to: str) -> Iterator[tuple[Any, ...]]:
            for messages, new_turns in app.respond(q, ts, coll, n, m, ids, srcs, d_from, d_to, langs):
                yield messages, new_turns, ""

        ask_args = {"fn": on_ask, "inputs": [question, turns, collection, n_citations, mode, only, only_sources,
                                             only_langs, date_from, date_to],
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
                table, choices, sources = app.collection_view(coll)
            except AssistantError as e:
                return status_html(str(e), "error"), gr.update(), gr.update(), gr.update(), gr.update()
            message = message or status_html(f"Collection {coll}: {len(choices)} article(s).")
            return (message, table, gr.update(choices=choices, value=None), gr.update(choices=choices, value=[]),
                    gr.update(choices=sources, value=[]))

        coll_outputs = [status, articles, to_remove, only, only_sources]
        collection.input(refresh, [collection], coll_outputs, **private)

        def on_create(name: str) -> tuple[Any, ...]:
            try:
                app.collections.create(name)
            except AssistantError as e:
                return gr.update(), status_html(str(e), "error"), gr.update(), gr.update(), gr.update(), gr.update(), name
            name = name.strip()
            ready = status_html(f"Collection {name} is ready; add articles to it.")
            return (gr.update(choices=app.collections.names(), value=name), *refresh(name, ready), "")

        create.click(on_create, [new_name], [collection, *coll_outputs, new_name], **private)

        def on_upload(paths: list[str] | None, coll: str, progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:  # noqa: B008
            progress(0, desc=f"Indexing {len(paths or [])} file(s)…")
            result = app.upload(paths, coll, progress=lambda d, t, aid: progress((d, t), desc=f"Indexed {aid}"))
            return (*refresh(coll, result), None)

        add.click(on_upload, [files, collection], [*coll_outputs, files], **private)

        def on_add_url(url: str, coll: str) -> tuple[Any, ...]:
            return (*refresh(coll, app.add_url(url, coll)), "")

        add_url.click(on_add_url, [page_url, collection], [*coll_outputs, page_url], **private)
        page_url.submit(on_add_url, [page_url, collection], [*coll_outputs, page_url], **private)

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
        export.click(lambda ts: gr.update(value=list(app.export(ts)), visible=True), [turns], [exports],
                     **private)

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

        demo.load(on_load, [collection], [collection, articles, to_remove, only, only_sources], **private)

        gr.api(_endpoint(app.api_ask, app.service.public_message), api_name="ask")
        gr.api(_endpoint(app.api_articles, app.service.public_message), api_name="articles")
    demo.chat_app = app  # what launch() mounts the API doors on (assistant/web/api.py)
    return demo


def _endpoint(method: Callable[..., Any], public: Callable[[BaseException], str]) -> Callable[..., Any]:
    """An API endpoint of ``method``: the same parameters, types and docstring (Gradio documents the
    endpoint from them), with AssistantError turned into a plain error message for the client (``public``:
    the message without server paths)."""
    import gradio as gr

    @functools.wraps(method)
    def endpoint(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except AssistantError as e:
            raise gr.Error(public(e), print_exception=False) from e

    return endpoint
