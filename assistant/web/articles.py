"""The collection's side of the page: an article with a cited sentence marked, the article list, the
pickers' choices and what an upload did."""

from __future__ import annotations

from collections.abc import Sequence

from assistant.types import ArticleInfo, IngestReport
from assistant.web.links import article_href
from assistant.web.markup import attrs, direction, esc, highlight, meta_html

__all__ = ["article_html", "article_placeholder_html", "articles_table_html", "article_choices", "ingest_report_html"]


def article_html(info: ArticleInfo, text: str, start: int | None = None, end: int | None = None,
                 short: tuple[int, int] | None = None) -> str:
    """A whole article as text, one paragraph per line, each in its own direction, with the span
    ``text[start:end]`` (a cited sentence) marked ``<mark class="cited">`` and, inside it, the span
    ``short`` (the short answer's words, article offsets) marked again ``<mark class="short-answer">``."""
    lang = info.lang if info.lang in ("ar", "en") else "en"
    title = info.title or info.id
    count = f"{info.n_sentences} sentences" if lang == "en" else f"{info.n_sentences} جملة"
    parts = [
        f'<div class="article-view" dir="{direction(lang)}" lang="{lang}">',
        f'<h3 {attrs(title, lang)}>{esc(title)}</h3>',
        meta_html("article-meta", [info.source, info.date, info.id, count], lang),
    ]
    pos = 0
    for line in text.split("\n"):
        lo, hi = pos, pos + len(line)
        pos = hi + 1
        if not line.strip():
            continue
        parts.append(f'<p {attrs(line, lang)}>{highlight(text, lo, hi, start, end, "cited", short)}</p>')
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
            ".txt, .md, .html, .json, .jsonl, .pdf or .docx files above.</p></div>"
        )
    rows = []
    for i in infos:
        title = i.title or i.id
        rows.append(
            f"<tr><td {attrs(title, i.lang)}><a class=\"article-link\" href=\"{article_href(collection, i.id)}\">"
            f"{esc(title)}</a></td><td dir=\"ltr\"><code>{esc(i.id)}</code></td><td>{i.n_sentences}</td>"
            f"<td>{esc(i.lang)}</td><td {attrs(i.source or '', 'en')}>{esc(i.source)}</td><td>{esc(i.date)}</td></tr>"
        )
    head = "<tr><th>Title</th><th>Id</th><th>Sentences</th><th>Lang</th><th>Source</th><th>Date</th></tr>"
    total = sum(i.n_sentences for i in infos)
    return (
        f'<div class="articles-table" dir="ltr"><p>{len(infos)} article(s), {total} sentences in '
        f"<b>{esc(collection)}</b>.</p><table><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def article_choices(infos: Sequence[ArticleInfo]) -> list[tuple[str, str]]:
    """(label, id) pairs for pickers: "title (id)", or the id alone when there is no title."""
    return [(f"{i.title} ({i.id})" if i.title else i.id, i.id) for i in infos]


def ingest_report_html(report: IngestReport, collection: str) -> str:
    """What an upload did, in plain words; each failed file with its reason."""
    parts = [
        f'<div class="ui-status" dir="ltr"><p>{esc(collection)}: added {len(report.added)}, replaced '
        f"{len(report.replaced)}, unchanged {len(report.unchanged)}, failed {len(report.failed)}.</p>"
    ]
    if report.failed:
        parts.append("<ul>")
        parts.extend(f"<li>{esc(where)}: {esc(why)}</li>" for where, why in report.failed)
        parts.append("</ul>")
    parts.append("</div>")
    return "".join(parts)
