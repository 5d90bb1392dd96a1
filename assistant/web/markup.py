"""The HTML basics every part of the page uses: the CSS, the direction of a block, escaping, highlights,
status and error lines.

Safety: every piece of text goes through :func:`esc` (:func:`html.escape`, after dropping the invisible
bidi controls and zero-width characters of :data:`assistant.text.characters.INVISIBLE_FORMAT`) before it
becomes HTML; the only markup is the one written in :mod:`assistant.web`. Direction: each block carries its
own ``dir`` and ``lang`` (:func:`attrs`), chosen from the script of its letters.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

from assistant.text.characters import INVISIBLE_FORMAT
from assistant.text.language import detect_language

__all__ = ["CSS", "SHORT_CLASS", "WORDS", "ui_lang", "direction", "block_dir", "attrs", "esc", "meta_html", "highlight",
           "status_html", "error_html"]

WORDS = {
    "ar": {"sources": "المصادر", "error": "تعذّر إتمام الطلب:", "no_meta": "المصدر والتاريخ غير مسجلين",
           "searched": "بحثنا عن:"},
    "en": {"sources": "Sources", "error": "Could not complete the request:", "no_meta": "source and date not recorded",
           "searched": "Searched for:"},
}


SHORT_CLASS = "short-answer"  # the second, stronger highlight: the short answer's words in a cited sentence


def ui_lang(lang: str | None) -> str:
    """The language of the page's own words for ``lang``: Arabic or English."""
    return lang if lang in WORDS else "en"


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
mark.cite-hl mark.short-answer, mark.cited mark.short-answer { background: #f59e0b; color: #111827;
  font-weight: 700; padding: 0 0.05em; border-radius: 2px; box-shadow: 0 0 0 1px #b45309; }
.answer-msg p.short-line { font-size: 1.12em; font-weight: 700; margin: 0.1em 0 0.35em; }
.answer-msg p.short-line .short-text { unicode-bidi: isolate; border-bottom: 3px solid #f59e0b; }
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


def attrs(text: str, default_lang: str) -> str:
    """The ``dir="…" lang="…"`` attributes of a block holding ``text``."""
    d, lang = block_dir(text, default_lang)
    return f'dir="{d}" lang="{lang}"'


def esc(text: str | None) -> str:
    """``text`` safe inside HTML: invisible formatting characters dropped, then escaped."""
    return html.escape(INVISIBLE_FORMAT.sub("", text or ""), quote=True)


def meta_html(cls: str, items: Iterable[str | None], lang: str) -> str:
    """A line of small facts (source, date, id, …), each isolated in its own direction so that an id or
    a date inside an Arabic line keeps its order."""
    isolated = [f"<bdi {attrs(x, lang)}>{esc(x)}</bdi>" for x in items if x]
    return f'<div class="{cls}" dir="{direction(lang)}">{" · ".join(isolated)}</div>'


def highlight(text: str, lo: int, hi: int, start: int | None, end: int | None, mark_class: str,
              inner: tuple[int, int] | None = None) -> str:
    """Escaped ``text[lo:hi]`` with the part inside ``[start, end)`` wrapped in ``<mark>``, and the part
    of that inside ``inner`` (the short answer's span) in a second ``<mark class="short-answer">`` within it.
    Text is cut by offsets first and escaped after, so both marks hold exactly those characters."""
    if start is None or end is None or end <= lo or start >= hi or end <= start:
        return esc(text[lo:hi])
    s, e = max(lo, start), min(hi, end)
    body = esc(text[s:e])
    if inner is not None and inner[0] < e and inner[1] > s and inner[1] > inner[0]:
        a, b = max(s, inner[0]), min(e, inner[1])
        body = f'{esc(text[s:a])}<mark class="{SHORT_CLASS}">{esc(text[a:b])}</mark>{esc(text[b:e])}'
    return f'{esc(text[lo:s])}<mark class="{mark_class}">{body}</mark>{esc(text[e:hi])}'


def status_html(message: str, kind: str = "info") -> str:
    """A one-line status (kind: info or error) as escaped text."""
    role = ' role="alert"' if kind == "error" else ""
    return f'<div class="ui-status {esc(kind)}"{role}><p {attrs(message, "en")}>{esc(message)}</p></div>'


def error_html(message: str, lang: str = "en") -> str:
    """A plain message for something that went wrong (never a stack trace)."""
    lang = ui_lang(lang)
    return (
        f'<div class="answer-msg error" role="alert" dir="{direction(lang)}" lang="{lang}">'
        f'<p {attrs(WORDS[lang]["error"], lang)}>{WORDS[lang]["error"]}</p>'
        f"<p {attrs(message, 'en')}>{esc(message)}</p></div>"
    )
