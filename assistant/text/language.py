"""Language of a text: Arabic or English, by the script of its letters."""

from __future__ import annotations

import re

__all__ = ["detect_language", "arabic_share"]

_ARABIC = re.compile(r"[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")


def arabic_share(text: str) -> float:
    """Share of Arabic-script letters among Arabic and Latin letters (0.0 when there are none)."""
    ar = len(_ARABIC.findall(text))
    la = len(_LATIN.findall(text))
    return ar / (ar + la) if ar + la else 0.0


def detect_language(text: str, default: str = "en") -> str:
    """'ar' when Arabic letters outnumber Latin ones, 'en' when Latin ones do, else ``default``.

    Names and acronyms inside an Arabic question ("ما هي OPEC؟") do not flip it to English.
    """
    ar = len(_ARABIC.findall(text))
    la = len(_LATIN.findall(text))
    if ar == la == 0:
        return default
    return "ar" if ar >= la * 0.5 else "en"
