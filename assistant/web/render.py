"""What the web chat shows, as pure functions: answers, citation cards, articles, exports.

No gradio in here: everything takes the records of :mod:`assistant.types` and returns strings or plain
data, so it is tested without a server (``tests/test_ui_render.py``); :mod:`assistant.web.app` only wires it up.

Safety: every piece of question, answer, title or article text goes through :func:`html.escape` before
it becomes HTML, so an article holding ``<script>`` or ``<img onerror=…>`` shows those characters and
runs nothing. The only markup is the one written here. The same step drops the invisible bidi
controls (U+202E and friends) and zero-width characters that ingest already removes from stored
text (:data:`assistant.text.reading.INVISIBLE_FORMAT`), for what ingest never saw: the question typed, and
indexes built before. Text is cut by offsets first and cleaned after, so highlights stay exact.

Direction: each block (a message, an answer line, a card, an article paragraph) carries its own ``dir``
and ``lang``, chosen from the script of its letters (:func:`assistant.text.language.detect_language`), and the
CSS gives blocks ``unicode-bidi: isolate; text-align: start``. So an Arabic reply reads right to left,
an English one left to right, and an Arabic line that opens with a name ("OPEC تخفض…") keeps Arabic
order — which ``dir="auto"`` (first strong letter wins) would get wrong.

Links: a citation marker ``[n]`` and its card are ``<a href="#cite/<collection>/<article>/<start>/<end>">``
(parts percent-encoded), an article in the list is ``#article/<collection>/<article>``; the chat's page
script turns a click on either into a request to open the article (:func:`parse_ref` reads it back).
"""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote

from assistant.text.language import detect_language
from assistant.text.reading import INVISIBLE_FORMAT
from assistant.types import Answer, ArticleInfo, Citation, IngestReport

__all__ = [
    "CSS",
    "EXAMPLE_QUESTIONS",
    "Ref",
    "Turn",
    "direction",
    "block_dir",
    "cite_href",
    "article_href",
    "parse_ref",
    "paragraph_bounds",
    "question_html",
    "pending_html",
    "answer_html",
    "error_html",
    "citation_card_html",
    "turn_messages",
    "conversation_messages",
    "article_html",
    "article_placeholder_html",
    "articles_table_html",
    "article_choices",
    "ingest_report_html",
    "status_html",
    "api_answer",
    "feedback_record",
    "conversation_markdown",
    "conversation_json",
]

EXAMPLE_QUESTIONS: tuple[str, ...] = (
    "كم عدد القوات الأجنبية في أفغانستان؟",
    "ماذا تريد إيران مقابل المحادثات؟",
    "How many foreign troops are in Afghanistan?",
    "Who opposes easing sanctions on Iran?",
)

# Window of article text shown around a cited sentence in its card (a whole line when shorter).
CARD_CONTEXT_CHARS = 600

_MARKER = re.compile(r"\[(\d+)\]")

_WORDS = {
    "ar": {"sources": "المصادر", "error": "تعذّر إتمام الطلب:", "no_meta": "المصدر والتاريخ غير مسجلين",
           "searched": "بحثنا عن:"},
    "en": {"sources": "Sources", "error": "Could not complete the request:", "no_meta": "source and date not recorded",
           "searched": "Searched for:"},
}


def _ui_lang(lang: str | None) -> str:
    return lang if lang in _WORDS else "en"

CSS = """
.question-msg, .answer-msg, .article-view, .cite-card, .articles-table, .ui-status { unicode-bidi: isolate; }
.question-msg p, .answer-msg p, .answer-msg li, .article-view p, .article-view h3, .cite-card div,
.articles-table td { unicode-bidi: isolate; text-align: start; }
.question-msg p, .answer-msg p { margin: 0.15em 0; }
.answer-msg ul { margin: 0.2em 0; padding: 0; list-style-position: inside; }
.answer-msg .notice, .answer-msg .standalone { font-size: 0.85em; opacity: 0.8; font-style: italic; }
.answer-msg.abstained p { opacity: 0.9; }
.answer-msg.error { color: var(--error-text-color, #b91c1c); }
a.cite-marker { text-decoration: none; font-weight: 600; white-space: nowrap; unicode-bidi: isolate; }
.cite-cards { margin-top: 0.6em; }
.cite-cards .cite-heading { font-weight: 600; font-size: 0.9em; }
a.cite-card { display: block; border: 1px solid var(--border-color-primary, #d1d5db); border-radius: 8px;
  padding: 0.45em 0.7em; margin: 0.35em 0; color: inherit !important; text-decoration: none !important;
  background: var(--background-fill-secondary, transparent); cursor: pointer; }
a.cite-card:hover, a.cite-card:focus { border-color: var(--color-accent, #f97316); }
.cite-card .cite-head { font-weight: 600; font-size: 0.9em; }
.cite-card .cite-meta { font-size: 0.8em; opacity: 0.75; }
.cite-card .cite-para { font-size: 0.92em; margin-top: 0.2em; line-height: 1.6; }
mark.cite-hl, mark.cited { background: #fde68a; color: #111827; padding: 0 0.1em; border-radius: 2px; }
.article-view { line-height: 1.7; }
.article-view .article-meta { font-size: 0.85em; opacity: 0.75; }
.articles-table table { width: 100%; }
.articles-table td, .articles-table th { padding: 0.2em 0.5em; }
"""


# --- direction ------------------------------------------------------------------------------------
def direction(lang: str | None) -> str:
    """``rtl`` for Arabic, ``ltr`` for anything else."""
    return "rtl" if lang == "ar" else "ltr"


def block_dir(text: str, default_lang: str = "en") -> tuple[str, str]:
    """(dir, lang) of one block of text, by the script most of its letters are in."""
    lang = detect_language(text, default=default_lang if default_lang in ("ar", "en") else "en")
    return direction(lang), lang


def _attrs(text: str, default_lang: str) -> str:
    d, lang = block_dir(text, default_lang)
    return f'dir="{d}" lang="{lang}"'


def _esc(text: str | None) -> str:
    return html.escape(INVISIBLE_FORMAT.sub("", text or ""), quote=True)


def _meta_html(cls: str, items: Iterable[str | None], lang: str) -> str:
    """A line of small facts (source, date, id, …), each isolated in its own direction so that an id or
    a date inside an Arabic line keeps its order."""
    isolated = [f"<bdi {_attrs(x, lang)}>{_esc(x)}</bdi>" for x in items if x]
    return f'<div class="{cls}" dir="{direction(lang)}">{" · ".join(isolated)}</div>'


# --- links ----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Ref:
    """What a clicked link asks to open: an article, optionally with a sentence span to highlight."""

    collection: str
    article_id: str
    start: int | None = None
    end: int | None = None


def _q(part: str) -> str:
    return quote(part, safe="")


def cite_href(collection: str, article_id: str, start: int, end: int) -> str:
    return f"#cite/{_q(collection)}/{_q(article_id)}/{int(start)}/{int(end)}"


def article_href(collection: str, article_id: str) -> str:
    return f"#article/{_q(collection)}/{_q(article_id)}"


def parse_ref(href: str | None) -> Ref | None:
    """The :class:`Ref` behind a ``#cite/…`` or ``#article/…`` link, or None for anything else."""
    if not href or not href.startswith("#"):
        return None
    parts = href[1:].split("/")
    try:
        if parts[0] == "cite" and len(parts) == 5:
            start, end = int(parts[3]), int(parts[4])
            if 0 <= start <= end:
                return Ref(unquote(parts[1]), unquote(parts[2]), start, end)
        elif parts[0] == "article" and len(parts) == 3:
            return Ref(unquote(parts[1]), unquote(parts[2]))
    except ValueError:
        return None
    return None


# --- text windows and highlighting ----------------------------------------------------------------
def paragraph_bounds(text: str, start: int, end: int, max_chars: int = CARD_CONTEXT_CHARS) -> tuple[int, int, bool, bool]:
    """(lo, hi, cut_before, cut_after): the line of ``text`` holding ``text[start:end]``, narrowed to about
    ``max_chars`` around the span (cut at whitespace) when the line is longer."""
    lo = text.rfind("\n", 0, start) + 1
    hi = text.find("\n", end)
    hi = len(text) if hi < 0 else hi
    if hi - lo <= max_chars:
        return lo, hi, False, False
    room = max(0, max_chars - (end - start))
    a = max(lo, start - room // 2)
    b = min(hi, end + (room - (start - a)))
    if a > lo:
        space = text.find(" ", a, start)
        a = space + 1 if space >= 0 else a
    if b < hi:
        space = text.rfind(" ", end, b)
        b = space if space >= 0 else b
    return a, b, a > lo, b < hi


def _highlight(text: str, lo: int, hi: int, start: int | None, end: int | None, mark_class: str) -> str:
    """Escaped ``text[lo:hi]`` with the part inside ``[start, end)`` wrapped in ``<mark>``."""
    if start is None or end is None or end <= lo or start >= hi or end <= start:
        return _esc(text[lo:hi])
    s, e = max(lo, start), min(hi, end)
    return f'{_esc(text[lo:s])}<mark class="{mark_class}">{_esc(text[s:e])}</mark>{_esc(text[e:hi])}'


def _locate(c: Citation, article_text: str | None) -> tuple[int, int] | None:
    """Where the cited sentence is in the article text (its offsets, or a search if the text moved)."""
    if article_text is None:
        return None
    if article_text[c.start : c.end] == c.text:
        return c.start, c.end
    at = article_text.find(c.text) if c.text else -1
    return (at, at + len(c.text)) if at >= 0 else None


# --- chat messages --------------------------------------------------------------------------------
def _lines_html(text: str, default_lang: str, link: Any = None) -> str:
    """Each line of ``text`` as a block with its own direction; lines opening with "- " form a list.
    ``link(match)`` (optional) turns a ``[n]`` marker of the escaped line into markup."""
    out: list[str] = []
    in_list = False
    for raw in text.split("\n"):
        line = raw.strip()
        if not line:
            continue
        item = line.startswith("- ")
        body = line[2:] if item else line
        escaped = _esc(body)
        if link is not None:
            escaped = _MARKER.sub(link, escaped)
        if item and not in_list:
            out.append("<ul>")
            in_list = True
        elif not item and in_list:
            out.append("</ul>")
            in_list = False
        tag = "li" if item else "p"
        out.append(f"<{tag} {_attrs(body, default_lang)}>{escaped}</{tag}>")
    if in_list:
        out.append("</ul>")
    return "".join(out)


def question_html(question: str) -> str:
    """The user's message: the question as text, in its own direction."""
    d, lang = block_dir(question, "ar")
    return f'<div class="question-msg" dir="{d}" lang="{lang}">{_lines_html(question, lang) or "&#8203;"}</div>'


def pending_html(text: str, lang: str) -> str:
    """The assistant's message while it streams in (markers not yet linked)."""
    return f'<div class="answer-msg pending" dir="{direction(lang)}" lang="{_esc(lang)}">{_lines_html(text, lang) or "…"}</div>'


def citation_card_html(c: Citation, article_text: str | None, collection: str) -> str:
    """One source card: ``[n]``, title (or id), source and date, and the cited sentence highlighted
    inside its paragraph. The whole card links to the article."""
    where = _locate(c, article_text)
    lang = c.lang or detect_language(c.text, default="ar")
    if where is None or article_text is None:
        start, end = c.start, c.end
        para = f'<mark class="cite-hl">{_esc(c.text)}</mark>'
        para_attrs = _attrs(c.text, lang)
    else:
        start, end = where
        lo, hi, cut_before, cut_after = paragraph_bounds(article_text, start, end)
        para = ("… " if cut_before else "") + _highlight(article_text, lo, hi, start, end, "cite-hl") + (" …" if cut_after else "")
        para_attrs = _attrs(article_text[lo:hi], lang)
    title = c.title or c.article_id
    meta_html = _meta_html("cite-meta", [c.source, c.date] if c.source or c.date else [_WORDS[_ui_lang(lang)]["no_meta"]], lang)
    return (
        f'<a class="cite-card" href="{cite_href(collection, c.article_id, start, end)}">'
        f'<div class="cite-head" {_attrs(title, lang)}><span class="cite-n">[{c.n}]</span> '
        f'<span class="cite-title">{_esc(title)}</span></div>'
        f"{meta_html}"
        f'<div class="cite-para" {para_attrs}>{para}</div>'
        "</a>"
    )


def answer_html(answer: Answer, texts: Mapping[str, str], collection: str) -> str:
    """The assistant's message: notice (if any), the question searched for (when a follow-up was completed
    from the conversation), the answer with clickable ``[n]`` markers, then one card per citation. ``texts`` maps article id → article text (a missing article shows the sentence alone)."""
    lang = _ui_lang(answer.lang)
    by_n = {c.n: c for c in answer.citations}

    def link(m: re.Match[str]) -> str:
        c = by_n.get(int(m.group(1)))
        if c is None:
            return m.group(0)
        where = _locate(c, texts.get(c.article_id)) or (c.start, c.end)
        return f'<a class="cite-marker" href="{cite_href(collection, c.article_id, *where)}">[{c.n}]</a>'

    classes = "answer-msg" + (" abstained" if answer.abstained else "")
    parts = [f'<div class="{classes}" dir="{direction(lang)}" lang="{lang}">']
    if answer.notice:
        parts.append(f'<p class="notice" {_attrs(answer.notice, lang)}>{_esc(answer.notice)}</p>')
    if answer.standalone_question:  # a follow-up, completed from the conversation before searching
        parts.append(
            f'<p class="standalone" dir="{direction(lang)}">{_WORDS[lang]["searched"]} '
            f"<bdi {_attrs(answer.standalone_question, lang)}>{_esc(answer.standalone_question)}</bdi></p>"
        )
    parts.append(_lines_html(answer.text, lang, link))
    if answer.citations:
        parts.append(f'<div class="cite-cards"><p class="cite-heading">{_WORDS[lang]["sources"]}</p>')
        parts.extend(citation_card_html(c, texts.get(c.article_id), collection) for c in answer.citations)
        parts.append("</div>")
    parts.append("</div>")
    return "".join(parts)


def error_html(message: str, lang: str = "en") -> str:
    """A plain message for something that went wrong (never a stack trace)."""
    lang = _ui_lang(lang)
    return (
        f'<div class="answer-msg error" role="alert" dir="{direction(lang)}" lang="{lang}">'
        f'<p {_attrs(_WORDS[lang]["error"], lang)}>{_WORDS[lang]["error"]}</p>'
        f"<p {_attrs(message, 'en')}>{_esc(message)}</p></div>"
    )


@dataclass(slots=True)
class Turn:
    """One exchange of the conversation: the question, the final answer (without its retrieved passages)
    or an error, and the assistant's rendered message."""

    question: str
    collection: str
    answer: Answer | None = None
    error: str | None = None
    html: str = ""
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    asked_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))


def turn_messages(turn: Turn) -> list[dict[str, str]]:
    """The two chat messages (user, assistant) of one turn."""
    return [
        {"role": "user", "content": question_html(turn.question)},
        {"role": "assistant", "content": turn.html or pending_html("", "en")},
    ]


def conversation_messages(turns: Iterable[Turn]) -> list[dict[str, str]]:
    """All chat messages, two per turn (so message ``i`` belongs to turn ``i // 2``)."""
    return [m for t in turns for m in turn_messages(t)]


# --- articles -------------------------------------------------------------------------------------
def article_html(info: ArticleInfo, text: str, start: int | None = None, end: int | None = None) -> str:
    """A whole article as text, one paragraph per line, each in its own direction, with the span
    ``text[start:end]`` (a cited sentence) marked ``<mark class="cited">``."""
    lang = info.lang if info.lang in ("ar", "en") else "en"
    title = info.title or info.id
    count = f"{info.n_sentences} sentences" if lang == "en" else f"{info.n_sentences} جملة"
    parts = [
        f'<div class="article-view" dir="{direction(lang)}" lang="{lang}">',
        f'<h3 {_attrs(title, lang)}>{_esc(title)}</h3>',
        _meta_html("article-meta", [info.source, info.date, info.id, count], lang),
    ]
    pos = 0
    for line in text.split("\n"):
        lo, hi = pos, pos + len(line)
        pos = hi + 1
        if not line.strip():
            continue
        parts.append(f'<p {_attrs(line, lang)}>{_highlight(text, lo, hi, start, end, "cited")}</p>')
    parts.append("</div>")
    return "".join(parts)


def article_placeholder_html() -> str:
    return (
        '<div class="article-view empty">'
        '<p dir="ltr" lang="en">Click a citation [n] or a source card to read the article here, with the cited sentence highlighted.</p>'
        '<p dir="rtl" lang="ar">انقر على رقم استشهاد [n] أو على بطاقة مصدر لقراءة المقالة هنا مع إبراز الجملة المستشهد بها.</p>'
        "</div>"
    )


def articles_table_html(infos: Sequence[ArticleInfo], collection: str) -> str:
    """The articles of a collection with their sentence counts; a title opens the article."""
    if not infos:
        return (
            '<div class="articles-table empty"><p dir="ltr" lang="en">This collection has no articles yet: upload '
            ".txt, .md, .html, .json or .jsonl files above.</p></div>"
        )
    rows = []
    for i in infos:
        title = i.title or i.id
        rows.append(
            f"<tr><td {_attrs(title, i.lang)}><a class=\"article-link\" href=\"{article_href(collection, i.id)}\">"
            f"{_esc(title)}</a></td><td dir=\"ltr\"><code>{_esc(i.id)}</code></td><td>{i.n_sentences}</td>"
            f"<td>{_esc(i.lang)}</td><td {_attrs(i.source or '', 'en')}>{_esc(i.source)}</td><td>{_esc(i.date)}</td></tr>"
        )
    head = "<tr><th>Title</th><th>Id</th><th>Sentences</th><th>Lang</th><th>Source</th><th>Date</th></tr>"
    total = sum(i.n_sentences for i in infos)
    return (
        f'<div class="articles-table" dir="ltr"><p>{len(infos)} article(s), {total} sentences in '
        f"<b>{_esc(collection)}</b>.</p><table><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def article_choices(infos: Sequence[ArticleInfo]) -> list[tuple[str, str]]:
    """(label, id) pairs for pickers: "title (id)", or the id alone when there is no title."""
    return [(f"{i.title} ({i.id})" if i.title else i.id, i.id) for i in infos]


def ingest_report_html(report: IngestReport, collection: str) -> str:
    """What an upload did, in plain words; each failed file with its reason."""
    parts = [
        f'<div class="ui-status" dir="ltr"><p>{_esc(collection)}: added {len(report.added)}, replaced '
        f"{len(report.replaced)}, unchanged {len(report.unchanged)}, failed {len(report.failed)}.</p>"
    ]
    if report.failed:
        parts.append("<ul>")
        parts.extend(f"<li>{_esc(where)}: {_esc(why)}</li>" for where, why in report.failed)
        parts.append("</ul>")
    parts.append("</div>")
    return "".join(parts)


def status_html(message: str, kind: str = "info") -> str:
    """A one-line status (kind: info or error) as escaped text."""
    role = ' role="alert"' if kind == "error" else ""
    return f'<div class="ui-status {_esc(kind)}"{role}><p {_attrs(message, "en")}>{_esc(message)}</p></div>'


# --- data for other programs ----------------------------------------------------------------------
def api_answer(answer: Answer) -> dict[str, Any]:
    """The answer as plain JSON data: ``Answer.to_dict()`` without the retrieved passages."""
    data = answer.to_dict()
    data.pop("passages", None)
    return data


def feedback_record(turn: Turn, vote: str, comment: str | None = None) -> dict[str, Any]:
    """One line of ``feedback.jsonl``: the vote ("up"/"down"), the comment, and what was rated."""
    ans = turn.answer
    return {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "turn_id": turn.id,
        "collection": turn.collection,
        "vote": vote,
        "comment": (comment or "").strip() or None,
        "question": turn.question,
        "answer": ans.text if ans else None,
        "error": turn.error,
        "abstained": ans.abstained if ans else None,
        "mode": ans.mode if ans else None,
        "citations": [
            {"n": c.n, "article_id": c.article_id, "sentence_id": c.sentence_id, "start": c.start, "end": c.end}
            for c in (ans.citations if ans else [])
        ],
    }


def conversation_json(turns: Sequence[Turn]) -> dict[str, Any]:
    """The conversation as data: each question with its full answer and citations (or its error)."""
    return {
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "turns": [
            {
                "id": t.id,
                "asked_at": t.asked_at,
                "collection": t.collection,
                "question": t.question,
                "answer": api_answer(t.answer) if t.answer else None,
                "error": t.error,
            }
            for t in turns
        ],
    }


def conversation_markdown(turns: Sequence[Turn]) -> str:
    """The conversation as Markdown: each question, its answer, and its sources with the cited sentences."""
    out = ["# Conversation", ""]
    for i, t in enumerate(turns, 1):
        out += [f"## {i}. {t.question.strip()}", "", f"*Collection: {t.collection} · asked {t.asked_at}*", ""]
        if t.answer is None:
            out += [f"Error: {t.error or 'no answer'}", ""]
            continue
        if t.answer.notice:
            out += [f"*{t.answer.notice}*", ""]
        out += [t.answer.text, ""]
        if t.answer.citations:
            out += ["Sources:", ""]
            for c in t.answer.citations:
                meta = ", ".join(x for x in (c.source, c.date) if x)
                head = f"[{c.n}] {c.title or c.article_id}" + (f" — {meta}" if meta else "")
                out += [f"{head} (article `{c.article_id}`, characters {c.start}–{c.end})", "", f"> {c.text}", ""]
    return "\n".join(out).rstrip() + "\n"
