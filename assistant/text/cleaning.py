"""Characters that never belong in stored text, and the one function that removes them from an article.

The invisible characters are named by what they do, and each use takes the sets it needs:

- ``BIDI_CONTROLS``: embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069). They reorder
  what is shown; text can be made to read differently from what is stored.
- ``HIDDEN_FORMAT``: zero-width space, word joiner and the invisible operators (U+200B, U+2060–U+2064),
  a BOM inside the text (U+FEFF) and the Mongolian vowel separator (U+180E). They hide or split words.
- ``JOINERS``: ZWNJ/ZWJ (U+200C/U+200D), which shape Persian words and emoji.
- ``DIRECTION_MARKS``: LRM/RLM/ALM (U+200E/U+200F/U+061C), which only place punctuation and digits in
  mixed text.

Uses:

- :data:`INVISIBLE_FORMAT` (bidi controls + hidden format) is removed from converted article text at
  ingest and wherever text is shown or embedded. Joiners and direction marks are kept: they are part of
  the text.
- :data:`MATCH_INVISIBLE` (every set) is removed before matching (:func:`assistant.text.normalize.normalize`):
  no invisible character may stop two words from being equal.
- :data:`ID_FORBIDDEN` (every set plus all C0/C1 controls) may not appear in an article id at all.
- :data:`STRAY_CONTROLS` (C0 controls except tab/newline/CR/FF/VT, and DEL) is removed from text.

:func:`clean_article` is the one place text is changed before it is stored, and it changes only text we
converted (HTML, Markdown): text the caller supplies is stored as given, so offsets index exactly what
the caller has. Its invisible characters are then neutralized where text leaves the index: removed
before the embedding model reads it (assistant/models/embeddings.py) and from what an LLM is shown
(assistant/answer/prompts.py), from ``Answer.text`` (display text; each ``Citation.text`` stays the exact
slice), from what the web chat and the terminal show (assistant/web/markup.py, assistant/terminal.py),
and ignored when words are matched (:func:`assistant.text.normalize.normalize`).
"""

from __future__ import annotations

import re

from assistant.errors import DateError, EmptyArticleError, MalformedInputError
from assistant.types import Article

__all__ = [
    "BIDI_CONTROLS",
    "HIDDEN_FORMAT",
    "JOINERS",
    "DIRECTION_MARKS",
    "INVISIBLE_FORMAT",
    "MATCH_INVISIBLE",
    "ID_FORBIDDEN",
    "STRAY_CONTROLS",
    "clean_text",
    "clean_article",
]

# Character-class bodies (inside [...]).
BIDI_CONTROLS = "\u202a-\u202e\u2066-\u2069"
HIDDEN_FORMAT = "\u200b\u2060-\u2064\ufeff\u180e"
JOINERS = "\u200c\u200d"
DIRECTION_MARKS = "\u200e\u200f\u061c"
_C0_C1_CONTROLS = "\x00-\x1f\x7f-\x9f"

INVISIBLE_FORMAT = re.compile(f"[{BIDI_CONTROLS}{HIDDEN_FORMAT}]")
MATCH_INVISIBLE = re.compile(f"[{BIDI_CONTROLS}{HIDDEN_FORMAT}{JOINERS}{DIRECTION_MARKS}]")
ID_FORBIDDEN = re.compile(f"[{_C0_C1_CONTROLS}{BIDI_CONTROLS}{HIDDEN_FORMAT}{JOINERS}{DIRECTION_MARKS}]")
STRAY_CONTROLS = re.compile("[\x00-\x08\x0e-\x1f\x7f]")


def clean_text(text: str) -> str:
    """``text`` without stray controls and without the invisible characters that reorder or hide it."""
    return INVISIBLE_FORMAT.sub("", STRAY_CONTROLS.sub("", text))


def _date(value: str | None, source: str, converted: bool) -> str | None:
    """The article's date in ISO 8601 (assistant/text/dates.py). A date the caller gave that is no date is
    refused; one we found in a converted page (a meta tag) is dropped instead: the article stays."""
    from assistant.text.dates import normalize_date  # dates -> normalize -> this module

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
