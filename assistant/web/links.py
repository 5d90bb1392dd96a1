"""The page's links: a citation ``#cite/<collection>/<article>/<start>/<end>`` (with
``/<short start>/<short end>`` after it when the short answer lies in that sentence) and an article
``#article/<collection>/<article>`` (parts percent-encoded); the page script turns a click on either into
a request to open the article, and :func:`parse_ref` reads it back."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, unquote

__all__ = ["Ref", "cite_href", "article_href", "parse_ref"]


@dataclass(frozen=True, slots=True)
class Ref:
    """What a clicked link asks to open: an article, optionally with a sentence span to highlight and,
    inside it, the short answer's span (``short_start``/``short_end``, article offsets)."""

    collection: str
    article_id: str
    start: int | None = None
    end: int | None = None
    short_start: int | None = None
    short_end: int | None = None


def _q(part: str) -> str:
    return quote(part, safe="")


def cite_href(collection: str, article_id: str, start: int, end: int, short: tuple[int, int] | None = None) -> str:
    """The link of a cited sentence ``[start, end)``; ``short``: the short answer's span inside it."""
    tail = f"/{int(short[0])}/{int(short[1])}" if short is not None else ""
    return f"#cite/{_q(collection)}/{_q(article_id)}/{int(start)}/{int(end)}{tail}"


def article_href(collection: str, article_id: str) -> str:
    return f"#article/{_q(collection)}/{_q(article_id)}"


def parse_ref(href: str | None) -> Ref | None:
    """The :class:`Ref` behind a ``#cite/…`` or ``#article/…`` link, or None for anything else."""
    if not href or not href.startswith("#"):
        return None
    parts = href[1:].split("/")
    try:
        if parts[0] == "cite" and len(parts) in (5, 7):
            start, end = int(parts[3]), int(parts[4])
            if 0 <= start <= end:
                s = e = None
                if len(parts) == 7 and start <= int(parts[5]) < int(parts[6]) <= end:  # inside its sentence
                    s, e = int(parts[5]), int(parts[6])
                return Ref(unquote(parts[1]), unquote(parts[2]), start, end, s, e)
        elif parts[0] == "article" and len(parts) == 3:
            return Ref(unquote(parts[1]), unquote(parts[2]))
    except ValueError:
        return None
    return None
