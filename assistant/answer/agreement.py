"""Whether a generated sentence agrees with the sentences it cites on numbers, currencies and names.

- numbers: every number of the answer sentence (Arabic-Indic digits, thousands separators and scale
  words normalized: "20 ألف" == "20,000" == "20 thousand") must appear in one of its cited sentences
  (the question does not count: it may hold a false premise). Numbers written as words are not checked;
- currencies: a currency named in the answer sentence (دولار/dollars, درهم/dirhams, ...) must be
  named in a cited sentence;
- names: a Latin-script name (a capitalized word not opening the sentence, or an acronym) must
  appear in a cited sentence or the question. Arabic names are not checked (no capitalization,
  and cross-language names would need transliteration).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.answer.markers import ascii_digits
from assistant.text.language import is_arabic
from assistant.text.normalize import normalize

__all__ = ["extract_numbers", "currencies", "latin_names", "disagreements", "name_problems"]

_SCALES = {
    "ألف": 1e3, "الف": 1e3, "ألفا": 1e3, "الفا": 1e3, "ألفاً": 1e3, "آلاف": 1e3, "الاف": 1e3,
    "thousand": 1e3, "thousands": 1e3,
    "مليون": 1e6, "مليونا": 1e6, "مليوناً": 1e6, "ملايين": 1e6, "million": 1e6, "millions": 1e6, "mn": 1e6,
    "مليار": 1e9, "مليارا": 1e9, "مليارات": 1e9, "بليون": 1e9, "billion": 1e9, "billions": 1e9, "bn": 1e9,
    "تريليون": 1e12, "trillion": 1e12,
}
_NUMBER = re.compile(
    r"(?<![\d.,])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(?:\s*(?:ـ\s*)?(" + "|".join(sorted(_SCALES, key=len, reverse=True))
    + r")(?![^\W\d_]))?",
    re.IGNORECASE,
)


def extract_numbers(text: str) -> set[float]:
    """The numbers written with digits in ``text``, as values: "20 ألف", "٢٠ ألف", "20,000" and
    "20 thousand" all give 20000.0; "1.5 million" gives 1500000.0."""
    t = ascii_digits(text)
    out: set[float] = set()
    for m in _NUMBER.finditer(t):
        whole = m.group(1).replace(",", "")
        value = float(f"{whole}.{m.group(2)}" if m.group(2) else whole)
        scale = m.group(3)
        if scale:
            value *= _SCALES[scale.lower()]
        out.add(round(value, 6))
    return out


# Currency families: Arabic stems are matched inside normalized words (بالدولار, دراهم), English
# words and symbols as tokens.
_CURRENCIES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "dollar": (("دولار",), ("dollar", "dollars", "usd", "$", "us$")),
    "dirham": (("درهم", "دراهم"), ("dirham", "dirhams", "aed", "dhs")),
    "euro": (("يورو",), ("euro", "euros", "eur", "€")),
    "pound": (("جنيه", "استرليني"), ("pound", "pounds", "sterling", "gbp", "£")),
    "riyal": (("ريال",), ("riyal", "riyals", "rial", "rials", "sar")),
    "dinar": (("دينار", "دنانير"), ("dinar", "dinars")),
    "lira": (("ليره", "ليرات"), ("lira", "liras", "lire")),
    "yen": ((), ("yen", "¥")),
    "yuan": (("يوان",), ("yuan", "renminbi", "rmb")),
    "ruble": (("روبل",), ("ruble", "rubles", "rouble", "roubles")),
    "rupee": (("روبيه",), ("rupee", "rupees")),
}
_CUR_TOKEN = re.compile(r"[$€£¥]|[^\W\d_]+(?:\$)?", re.UNICODE)


def currencies(text: str) -> set[str]:
    """The currency families named in ``text`` ({"dollar", "dirham", ...})."""
    norm = normalize(text)
    tokens = set(_CUR_TOKEN.findall(norm))
    found: set[str] = set()
    for fam, (stems, words) in _CURRENCIES.items():
        if any(w in tokens for w in words) or any(s in norm for s in (normalize(x) for x in stems)):
            found.add(fam)
    return found


_LATIN_WORD = re.compile(r"\b[A-Za-z][A-Za-z'’\-]*[A-Za-z]\b|\b[A-Z]\b")
_NOT_NAMES = frozenset(
    "i a an the this that these those it its he she they we you his her their our my your in on at of for "
    "from by with and or but if as so to according however also yes no not after before during while when "
    "since although though because there here then what who which where why how mr mrs ms dr".split()
)


def latin_names(sentence: str) -> set[str]:
    """Capitalized Latin-script words that are not the sentence's first word, and acronyms, lower-cased
    ("Pompeo", "OPEC"); common function words are never names."""
    words = _LATIN_WORD.findall(sentence)
    first = re.search(r"[^\W\d_]+", sentence)
    names: set[str] = set()
    for i, w in enumerate(words):
        if not w[0].isupper() or w.lower() in _NOT_NAMES:
            continue
        if i == 0 and first is not None and first.group(0) == w and not w.isupper():
            continue  # the opening word is capitalized anyway
        names.add(w.lower().strip("'’-"))
    return names


def _has_name(name: str, text_lower: str) -> bool:
    return re.search(rf"(?<![a-z]){re.escape(name)}", text_lower) is not None


def disagreements(sentence: str, sources: Sequence[str]) -> list[str]:
    """Why the numbers or currencies of ``sentence`` disagree with ``sources`` (empty: agree)."""
    problems: list[str] = []
    pool = " \n ".join(sources)  # not the question: a false premise ("what happened in 1997?") is no source
    nums = extract_numbers(sentence) - extract_numbers(pool)
    if nums:
        problems.append("number " + ", ".join(_fmt(n) for n in sorted(nums)) + " is in none of its sources")
    cur = currencies(sentence) - currencies(pool)
    if cur:
        src_cur = currencies(" ".join(sources))
        extra = f" (the source says {', '.join(sorted(src_cur))})" if src_cur else ""
        problems.append("currency " + ", ".join(sorted(cur)) + f" is in none of its sources{extra}")
    return problems


def name_problems(sentence: str, sources: Sequence[str], question: str) -> list[str]:
    """The Latin-script names of ``sentence`` found in neither ``sources`` nor ``question`` (empty: all found)."""
    if not sources or is_arabic(" ".join(sources)) and not is_arabic(sentence):
        return []  # an English sentence over Arabic sources: names are transliterated, not checked
    pool = " ".join([*sources, question]).lower()
    missing = sorted(n for n in latin_names(sentence) if not _has_name(n, pool))
    return [f"name {', '.join(missing)} is in none of its sources"] if missing else []


def _fmt(n: float) -> str:
    return str(int(n)) if n == int(n) else str(n)
