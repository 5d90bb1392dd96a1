"""Language of a text: Arabic or English, by the script of its letters.

One rule decides "is this Arabic" everywhere (the question's language, an article's, a cited sentence's
script, whether bytes read as Windows-1256 are Arabic): :func:`is_arabic`, true when at least
:data:`ARABIC_SHARE` (a third) of the Arabic and Latin letters are Arabic. A third, not a half: names and
acronyms quoted inside an Arabic sentence ("ما هي OPEC؟") are long in Latin letters next to unvowelled
Arabic words, and must not flip it to English. :func:`has_arabic` (any Arabic letter at all) is a
different question, asked by the terminal before it shapes a line.
"""

from __future__ import annotations

import re
from fractions import Fraction

__all__ = ["ARABIC_SHARE", "arabic_share", "is_arabic", "has_arabic", "detect_language"]

_ARABIC = re.compile(r"[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")

ARABIC_SHARE = Fraction(1, 3)  # exact: no rounding at the boundary
"""Least share of Arabic-script letters (among Arabic and Latin ones) for a text to count as Arabic."""


def _counts(text: str) -> tuple[int, int]:
    return len(_ARABIC.findall(text)), len(_LATIN.findall(text))


def arabic_share(text: str) -> float:
    """Share of Arabic-script letters among Arabic and Latin letters (0.0 when there are none)."""
    ar, la = _counts(text)
    return ar / (ar + la) if ar + la else 0.0


def is_arabic(text: str) -> bool:
    """True when at least :data:`ARABIC_SHARE` of the letters are Arabic (False without letters)."""
    ar, la = _counts(text)
    return ar + la > 0 and ar >= ARABIC_SHARE * (ar + la)


def has_arabic(text: str) -> bool:
    """True when ``text`` holds any Arabic-script letter."""
    return _ARABIC.search(text) is not None


def detect_language(text: str, default: str = "en") -> str:
    """'ar' when :func:`is_arabic`, 'en' when there are letters and it is not, else ``default``."""
    ar, la = _counts(text)
    if ar == la == 0:
        return default
    return "ar" if is_arabic(text) else "en"
