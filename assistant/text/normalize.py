"""Search normalization for Arabic and English text.

Used for matching only (BM25 tokens, answer comparison). The text that is shown and cited is never
normalized: citations keep byte-exact offsets into the article as ingested.
"""

from __future__ import annotations

import re
import unicodedata

from assistant.text.characters import MATCH_INVISIBLE

__all__ = ["normalize", "tokenize", "ARABIC_STOPWORDS", "ENGLISH_STOPWORDS"]

# Harakat, Quranic marks, superscript alef; tatweel handled separately.
_DIACRITICS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e8\u06ea-\u06ed]")
_TATWEEL = "\u0640"

_CHAR_MAP = str.maketrans(
    {
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ى": "ي",
        "ة": "ه",
        "ؤ": "و",
        "ئ": "ي",
        # Arabic-Indic and Eastern Arabic-Indic digits -> ASCII
        **{chr(0x0660 + i): str(i) for i in range(10)},
        **{chr(0x06F0 + i): str(i) for i in range(10)},
        "٫": ".",  # Arabic decimal separator
        "٬": ",",  # Arabic thousands separator
    }
)

_TOKEN = re.compile(r"\w+", re.UNICODE)

# Function words that carry no retrieval signal. Kept short on purpose: BM25's idf handles the rest.
ARABIC_STOPWORDS = frozenset(
    (
        "في من على الى إلى عن مع ان أن إن او أو ثم قد لا لم لن ما ماذا هل كم كيف متى اين أين لماذا "
        "هو هي هم هن انا نحن انت هذا هذه ذلك تلك الذي التي الذين اللذين كان كانت يكون تكون كما "
        "و ف ب ل ك ال عند بين بعد قبل حتى اذا إذا كل أي اي أيّ وقد ولم وكان وهو وهي وفي"
    ).split()
)
ENGLISH_STOPWORDS = frozenset(
    (
        "a an the of in on at to for from by with and or but is are was were be been being do does did "
        "what which who whom whose when where why how that this these those it its as into than then "
        "there their they he she his her him them we you your i not no"
    ).split()
)


def normalize(text: str) -> str:
    """Return ``text`` folded for matching.

    NFKC, strip diacritics, tatweel and invisible format characters, unify alef forms, ى→ي, ة→ه,
    ؤ→و, ئ→ي, Arabic-Indic digits → ASCII, case-fold. Length may change: never use the result for
    offsets.
    """
    text = unicodedata.normalize("NFKC", text)
    text = MATCH_INVISIBLE.sub("", text)  # every invisible character: see characters.py
    text = _DIACRITICS.sub("", text).replace(_TATWEEL, "")
    return text.translate(_CHAR_MAP).casefold()


_STOPWORDS = frozenset(normalize(w) for w in ARABIC_STOPWORDS | ENGLISH_STOPWORDS)

# Arabic proclitics stripped from long tokens: wa-, fa-, bi-, ka-, li- + the article al-.
_PREFIXES = ("وال", "فال", "بال", "كال", "لل", "ال")
_SINGLE_PREFIXES = ("و",)  # fa-/bi-/ka-/li- alone collide with stems too often (كانوا, بيت)


def _light_stem(token: str) -> str:
    """Strip one proclitic and the article from an Arabic token, keeping at least three letters."""
    for p in _PREFIXES:
        if token.startswith(p) and len(token) - len(p) >= 3:
            return token[len(p):]
    if token[0] in _SINGLE_PREFIXES and len(token) >= 5:
        return token[1:]
    return token


def tokenize(text: str, *, stopwords: bool = True, stem: bool = True) -> list[str]:
    """Normalized word tokens for BM25: Arabic light stemming, stopwords removed."""
    out = []
    for tok in _TOKEN.findall(normalize(text)):
        if tok == "_" or (stopwords and tok in _STOPWORDS):
            continue
        if stem and "\u0621" <= tok[0] <= "\u064a":
            tok = _light_stem(tok)
        out.append(tok)
    return out
