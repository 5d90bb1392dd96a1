"""The one function that validates an article and changes text before it is stored: :func:`clean_article`.

It changes only text we converted (HTML, Markdown, PDF, DOCX, web pages): text the caller supplies is
stored as given, so offsets index exactly what the caller has. The character sets it removes are in
assistant/text/characters.py, which says where the rest are neutralized.
"""

from __future__ import annotations

from assistant.errors import DateError, EmptyArticleError, MalformedInputError
from assistant.text.characters import ID_FORBIDDEN, clean_text
from assistant.text.dates import normalize_date
from assistant.types import Article

__all__ = ["clean_article"]


def _date(value: str | None, source: str, converted: bool) -> str | None:
    """The article's date in ISO 8601 (assistant/text/dates.py). A date the caller gave that is no date is
    refused; one we found in a converted page (a meta tag) is dropped instead: the article stays."""
    if value is None or not value.strip():
        return None
    try:
        return normalize_date(value)
    except DateError as e:
        if converted:
            return None
        raise MalformedInputError(source, f"{e}; fix the article's date or leave it out") from e


def clean_article(article: Article, source: str, *, converted: bool = False) -> Article:
    """Validate an article; clean its metadata; and clean its text only when ``converted``.

    Text the caller supplies (an ``Article``, a .txt, .json or .jsonl file) is stored exactly as given, so
    that sentence and citation offsets index it (``text[c.start:c.end] == c.text``) and the sentence ids
    are the evaluator's: its invisible characters are neutralized where text is shown, embedded or matched
    instead (see the module doc). The date becomes ISO 8601 (``_date``). Text we converted (HTML, Markdown) is ours: stray controls and invisible
    format characters are removed from it and line ends made ``\n``; offsets index that extracted text,
    which ``Assistant.article()`` returns. The checks for empty text look at the cleaned view either way.
    Raises EmptyArticleError or MalformedInputError."""
    if not isinstance(article.text, str):
        raise MalformedInputError(source, f"article text is {type(article.text).__name__}, not a string")
    view = clean_text(article.text)
    text = view.replace("\r\n", "\n") if converted else article.text
    if not view.strip():
        raise EmptyArticleError(source, "has no text (empty or whitespace only); nothing to index")
    if not any(ch.isalnum() for ch in view):
        raise EmptyArticleError(source, "has no words, only punctuation or symbols; nothing to index")
    if not isinstance(article.id, str) or not article.id.strip():
        raise MalformedInputError(source, "article id is empty; give each article a non-empty id")
    if ID_FORBIDDEN.search(article.id):
        raise MalformedInputError(
            source, f"article id {article.id!r} holds control or invisible formatting characters; use printable ids"
        )
    meta = {k: clean_text(v) if isinstance(v, str) else v
            for k, v in (("title", article.title), ("source", article.source), ("date", article.date))}
    meta["date"] = _date(meta["date"], source, converted)
    if text != article.text or any(meta[k] != getattr(article, k) for k in meta):
        article = Article(**{**article.to_dict(), "text": text, **meta})
    return article
