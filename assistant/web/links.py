"""The page's links: a citation ``#cite/<collection>/<article>/<start>/<end>`` and an article
``#article/<collection>/<article>`` (parts percent-encoded); the page script turns a click on either into
a request to open the article, and :func:`parse_ref` reads it back."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, unquote

__all__ = ["Ref", "cite_href", "article_href", "parse_ref"]


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
