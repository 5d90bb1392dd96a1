"""The chat's messages: the question, the answer streaming in, the final answer with clickable ``[n]``
markers and one source card per citation (the cited sentence highlighted inside its paragraph).

The short answer (``Answer.short``) is shown first, as its own prominent line (``<p class="short-line">``,
its words in ``<bdi class="short-text">`` with their own direction), and its words get a second, stronger
highlight (``<mark class="short-answer">``) inside the cited sentence of citation ``short.n``: in that card,
and (through the ``#cite/…`` link's short span) in the article view."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from assistant.answer.extractive import short_line
from assistant.text.language import detect_language
from assistant.types import Answer, Citation, ShortAnswer
from assistant.web.links import cite_href
from assistant.web.markup import WORDS, attrs, block_dir, direction, esc, highlight, meta_html, ui_lang

__all__ = ["CARD_CONTEXT_CHARS", "paragraph_bounds", "short_span", "question_html", "pending_html",
           "citation_card_html", "answer_html"]

# Window of article text shown around a cited sentence in its card (a whole line when shorter).
CARD_CONTEXT_CHARS = 600

_MARKER = re.compile(r"\[(\d+)\]")


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


def _locate(c: Citation, article_text: str | None) -> tuple[int, int] | None:
    """Where the cited sentence is in the article text (its offsets, or a search if the text moved)."""
    if article_text is None:
        return None
    if article_text[c.start : c.end] == c.text:
        return c.start, c.end
    at = article_text.find(c.text) if c.text else -1
    return (at, at + len(c.text)) if at >= 0 else None


def short_span(c: Citation, short: ShortAnswer | None, at: int) -> tuple[int, int] | None:
    """The short answer's span when it lies in citation ``c``'s sentence, as offsets of the text where
    that sentence starts at ``at`` (the article: its offset there; the sentence alone: 0). None for
    another citation, and for offsets that do not hold the short answer's words (never a wrong highlight)."""
    if short is None or short.n != c.n or short.article_id != c.article_id:
        return None
    s, e = short.start - c.start, short.end - c.start
    if not 0 <= s < e <= len(c.text) or c.text[s:e] != short.text:
        return None
    return at + s, at + e


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
        escaped = esc(body)
        if link is not None:
            escaped = _MARKER.sub(link, escaped)
        if item and not in_list:
            out.append("<ul>")
            in_list = True
        elif not item and in_list:
            out.append("</ul>")
            in_list = False
        tag = "li" if item else "p"
        out.append(f"<{tag} {attrs(body, default_lang)}>{escaped}</{tag}>")
    if in_list:
        out.append("</ul>")
    return "".join(out)


def question_html(question: str) -> str:
    """The user's message: the question as text, in its own direction."""
    d, lang = block_dir(question, "ar")
    return f'<div class="question-msg" dir="{d}" lang="{lang}">{_lines_html(question, lang) or "&#8203;"}</div>'


def pending_html(text: str, lang: str) -> str:
    """The assistant's message while it streams in (markers not yet linked)."""
    return f'<div class="answer-msg pending" dir="{direction(lang)}" lang="{esc(lang)}">{_lines_html(text, lang) or "…"}</div>'


def citation_card_html(c: Citation, article_text: str | None, collection: str, short: ShortAnswer | None = None) -> str:
    """One source card: ``[n]``, title (or id), source and date, and the cited sentence highlighted
    inside its paragraph (with the short answer's words marked again when ``short`` lies in this
    sentence). The whole card links to the article."""
    where = _locate(c, article_text)
    lang = c.lang or detect_language(c.text, default="ar")
    if where is None or article_text is None:
        start, end = c.start, c.end
        para = highlight(c.text, 0, len(c.text), 0, len(c.text), "cite-hl", short_span(c, short, 0))
        para_attrs = attrs(c.text, lang)
    else:
        start, end = where
        lo, hi, cut_before, cut_after = paragraph_bounds(article_text, start, end)
        inner = short_span(c, short, start)
        para = ("… " if cut_before else "") + highlight(article_text, lo, hi, start, end, "cite-hl", inner) + (" …" if cut_after else "")
        para_attrs = attrs(article_text[lo:hi], lang)
    title = c.title or c.article_id
    meta = meta_html("cite-meta", [c.source, c.date] if c.source or c.date else [WORDS[ui_lang(lang)]["no_meta"]], lang)
    return (
        f'<a class="cite-card" href="{cite_href(collection, c.article_id, start, end, short_span(c, short, start))}">'
        f'<div class="cite-head" {attrs(title, lang)}><span class="cite-n">[{c.n}]</span> '
        f'<span class="cite-title">{esc(title)}</span></div>'
        f"{meta}"
        f'<div class="cite-para" {para_attrs}>{para}</div>'
        "</a>"
    )


def answer_html(answer: Answer, texts: Mapping[str, str], collection: str) -> str:
    """The assistant's message: notice (if any), the question searched for (when a follow-up was completed
    from the conversation), the short answer (if any) as its own first line, the answer with clickable
    ``[n]`` markers, then one card per citation. ``texts`` maps article id → article text (a missing
    article shows the sentence alone)."""
    lang = ui_lang(answer.lang)
    by_n = {c.n: c for c in answer.citations}
    short = answer.short if answer.short is not None and answer.short.n in by_n else None

    def link(m: re.Match[str]) -> str:
        c = by_n.get(int(m.group(1)))
        if c is None:
            return m.group(0)
        where = _locate(c, texts.get(c.article_id)) or (c.start, c.end)
        href = cite_href(collection, c.article_id, *where, short_span(c, short, where[0]))
        return f'<a class="cite-marker" href="{href}">[{c.n}]</a>'

    classes = "answer-msg" + (" abstained" if answer.abstained else "")
    parts = [f'<div class="{classes}" dir="{direction(lang)}" lang="{lang}">']
    if answer.notice:
        parts.append(f'<p class="notice" {attrs(answer.notice, lang)}>{esc(answer.notice)}</p>')
    if answer.standalone_question:  # a follow-up, completed from the conversation before searching
        parts.append(
            f'<p class="standalone" dir="{direction(lang)}">{WORDS[lang]["searched"]} '
            f"<bdi {attrs(answer.standalone_question, lang)}>{esc(answer.standalone_question)}</bdi></p>"
        )
    text = answer.text
    if short is not None:
        parts.append(_short_line_html(short, answer, link))
        first, _, rest = text.lstrip("\n").partition("\n")
        if first.strip() == short_line(short, answer.lang, answer.citations).strip():
            text = rest  # shown above; a generated answer does not lead with it, the line is added
    parts.append(_lines_html(text, lang, link))
    if answer.citations:
        parts.append(f'<div class="cite-cards"><p class="cite-heading">{WORDS[lang]["sources"]}</p>')
        parts.extend(citation_card_html(c, texts.get(c.article_id), collection, short) for c in answer.citations)
        parts.append("</div>")
    parts.append("</div>")
    return "".join(parts)


def _short_line_html(short: ShortAnswer, answer: Answer, link: Any) -> str:
    """The short answer's line as the answer text leads with it (its words, or their translation or conversion,
    then the language they are quoted in, then the ``[n]`` marker). The line reads in the answer's
    direction (its label is in the answer's language); the words are isolated in their own."""
    lang = ui_lang(answer.lang)
    line = short_line(short, answer.lang, answer.citations).strip()
    words = short.translation or short.text
    if line.startswith(words):
        body = f'<bdi class="short-text" {attrs(words, lang)}>{esc(words)}</bdi>' + _MARKER.sub(link, esc(line[len(words):]))
    else:
        body = _MARKER.sub(link, esc(line))
    return f'<p class="short-line" dir="{direction(lang)}" lang="{lang}">{body}</p>'
