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

- :data:`INVISIBLE_FORMAT` (bidi controls + hidden format) is removed from article text at ingest and
  from anything the web chat shows. Joiners and direction marks are kept: they are part of the text.
- :data:`MATCH_INVISIBLE` (every set) is removed before matching (:func:`assistant.text.normalize.normalize`):
  no invisible character may stop two words from being equal.
- :data:`ID_FORBIDDEN` (every set plus all C0/C1 controls) may not appear in an article id at all.
- :data:`STRAY_CONTROLS` (C0 controls except tab/newline/CR/FF/VT, and DEL) is removed from text.

:func:`clean_article` is the one place text is changed before it is stored. Offsets of sentences and
citations are taken in the cleaned text, which is what is stored, so they stay exact.
"""

from __future__ import annotations

import re

from assistant.errors import EmptyArticleError, MalformedInputError
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


def clean_article(article: Article, source: str) -> Article:
    """Validate an article and strip characters that never belong in text (stray controls, and the
    invisible format characters that could reorder what is shown: see the module docstring); the metadata
    too. Raises EmptyArticleError or MalformedInputError."""
    if not isinstance(article.text, str):
        raise MalformedInputError(source, f"article text is {type(article.text).__name__}, not a string")
    text = clean_text(article.text).replace("\r\n", "\n")
    if not text.strip():
        raise EmptyArticleError(source, "has no text (empty or whitespace only); nothing to index")
    if not any(ch.isalnum() for ch in text):
        raise EmptyArticleError(source, "has no words, only punctuation or symbols; nothing to index")
    if not isinstance(article.id, str) or not article.id.strip():
        raise MalformedInputError(source, "article id is empty; give each article a non-empty id")
    if ID_FORBIDDEN.search(article.id):
        raise MalformedInputError(
            source, f"article id {article.id!r} holds control or invisible formatting characters; use printable ids"
        )
    meta = {k: clean_text(v) if isinstance(v, str) else v
            for k, v in (("title", article.title), ("source", article.source), ("date", article.date))}
    if text != article.text or any(meta[k] != getattr(article, k) for k in meta):
        article = Article(**{**article.to_dict(), "text": text, **meta})
    return article
