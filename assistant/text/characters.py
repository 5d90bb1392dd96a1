"""Characters that never belong in stored text, named by what they do; each use takes the sets it needs.

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

Text the caller supplies is stored as given (assistant/ingest/cleaning.py); its invisible characters are
neutralized where text leaves the index: removed before the embedding model reads it
(assistant/models/embedding/framed.py) and from what an LLM is shown (assistant/answer/prompts.py), from
``Answer.text`` (display text; each ``Citation.text`` stays the exact slice), from what the web chat and
the terminal show (assistant/web/markup.py, assistant/terminal.py), and ignored when words are matched
(:func:`assistant.text.normalize.normalize`). A leaf: it imports nothing of the package.
"""

from __future__ import annotations

import re

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
