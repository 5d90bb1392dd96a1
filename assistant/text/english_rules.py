"""Arabic phrases that rules can put into English exactly: numbers (digits or words, with scale words),
percentages, amounts of money, units, dates, years, decades and seasons, joined by a few particles.

:func:`to_english` converts a phrase only when every word of it is covered ("20 ألف" → "20,000",
"يونيو/ حزيران 2019" → "June 2019", "عام 1998" → "1998", "ثلاثة ملايين" → "3 million", "5 ملايين دولار"
→ "$5 million", "90 في المئة" → "90%", "الخمسينيات" → "1950s", "صيف سنة 1521" → "summer of 1521"); any
word it does not know (a name, a noun) gives None: no model guesses, so what it returns is a conversion, not
a translation. Words are looked up in their normalized form (assistant/text/normalize.py: letter forms,
diacritics, Arabic-Indic digits), so spellings with or without hamza, taa marbuta or tanween all match.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from assistant.text.normalize import normalize

__all__ = ["to_english"]


def _keys(table: dict[str, str]) -> dict[str, str]:
    return {normalize(k): v for k, v in table.items()}


_ONES = _keys({
    "واحد": "1", "واحدة": "1", "اثنان": "2", "اثنين": "2", "اثنتان": "2", "اثنتين": "2", "ثلاث": "3", "ثلاثة": "3",
    "أربع": "4", "أربعة": "4", "خمس": "5", "خمسة": "5", "ست": "6", "ستة": "6", "سبع": "7", "سبعة": "7",
    "ثمان": "8", "ثماني": "8", "ثمانية": "8", "تسع": "9", "تسعة": "9", "عشر": "10", "عشرة": "10",
})
_TENS = _keys({
    "عشرون": "20", "عشرين": "20", "ثلاثون": "30", "ثلاثين": "30", "أربعون": "40", "أربعين": "40",
    "خمسون": "50", "خمسين": "50", "ستون": "60", "ستين": "60", "سبعون": "70", "سبعين": "70",
    "ثمانون": "80", "ثمانين": "80", "تسعون": "90", "تسعين": "90",
})
# scale words: what a number is multiplied by ("ألف" is written out in full: "20 ألف" → "20,000")
_THOUSAND = _keys({"ألف": "", "آلاف": "", "الف": "", "ألفا": "", "ألفاً": ""})
_HUNDRED = _keys({"مئة": "", "مائة": "", "مئات": ""})
_LARGE = _keys({"مليون": "million", "ملايين": "million", "مليونا": "million", "مليار": "billion",
                "مليارات": "billion", "بليون": "billion", "تريليون": "trillion"})
_PERCENT = [normalize(p).split() for p in ("في المئة", "في المائة", "بالمئة", "بالمائة", "المئة", "%", "٪")]
_CURRENCY = _keys({  # prefix symbol, or a word after the number
    "دولار": "$", "دولارات": "$", "دولاراً": "$", "دولارا": "$", "يورو": "€", "جنيه": "£", "جنيها": "£",
    "جنيهات": "£", "جنيه إسترليني": "£",
})
_CURRENCY_WORDS = _keys({"ريال": "riyals", "ريالات": "riyals", "دينار": "dinars", "دنانير": "dinars",
                         "درهم": "dirhams", "دراهم": "dirhams", "ين": "yen", "روبية": "rupees"})
_UNITS = _keys({  # plural; the singular when the number is 1
    "ثانية": "seconds", "ثوان": "seconds", "ثواني": "seconds", "دقيقة": "minutes", "دقائق": "minutes",
    "ساعة": "hours", "ساعات": "hours", "يوم": "days", "يوما": "days", "أيام": "days", "أسبوع": "weeks",
    "أسابيع": "weeks", "شهر": "months", "شهرا": "months", "أشهر": "months", "شهور": "months", "سنة": "years",
    "سنوات": "years", "عام": "years", "عاما": "years", "أعوام": "years", "قرن": "centuries", "قرون": "centuries",
    "كيلومتر": "km", "كيلومترا": "km", "كيلومترات": "km", "كم": "km", "متر": "meters", "مترا": "meters",
    "أمتار": "meters", "سنتيمتر": "cm", "سم": "cm", "ملم": "mm", "نانومتر": "nm", "ميل": "miles", "أميال": "miles",
    "ميلا": "miles", "قدم": "feet", "أقدام": "feet", "كيلوغرام": "kg", "كيلوجرام": "kg", "كغ": "kg", "كجم": "kg",
    "طن": "tons", "أطنان": "tons", "درجة": "degrees", "درجات": "degrees", "شخص": "people", "أشخاص": "people",
    "نسمة": "people", "مرة": "times", "مرات": "times",
})
_SINGULAR = {"seconds": "second", "minutes": "minute", "hours": "hour", "days": "day", "weeks": "week",
             "months": "month", "years": "year", "centuries": "century", "miles": "mile", "feet": "foot",
             "meters": "meter", "tons": "ton", "degrees": "degree", "people": "person", "times": "time"}
_MONTHS = _keys({
    "يناير": "January", "فبراير": "February", "مارس": "March", "أبريل": "April", "إبريل": "April", "مايو": "May",
    "يونيو": "June", "يونيه": "June", "يوليو": "July", "يوليه": "July", "أغسطس": "August", "سبتمبر": "September",
    "أكتوبر": "October", "نوفمبر": "November", "ديسمبر": "December",
    "كانون الثاني": "January", "شباط": "February", "آذار": "March", "نيسان": "April", "أيار": "May",
    "حزيران": "June", "تموز": "July", "آب": "August", "أيلول": "September", "تشرين الأول": "October",
    "تشرين الثاني": "November", "كانون الأول": "December",
    "جانفي": "January", "فيفري": "February", "أفريل": "April", "ماي": "May", "جوان": "June", "جويلية": "July",
    "أوت": "August",
})
_DECADES = _keys({
    "العشرينيات": "1920s", "العشرينات": "1920s", "الثلاثينيات": "1930s", "الثلاثينات": "1930s",
    "الأربعينيات": "1940s", "الأربعينات": "1940s", "الخمسينيات": "1950s", "الخمسينات": "1950s",
    "الستينيات": "1960s", "الستينات": "1960s", "السبعينيات": "1970s", "السبعينات": "1970s",
    "الثمانينيات": "1980s", "الثمانينات": "1980s", "التسعينيات": "1990s", "التسعينات": "1990s",
})
_SEASONS = _keys({"صيف": "summer", "شتاء": "winter", "ربيع": "spring", "خريف": "autumn"})
_YEAR_WORDS = {normalize(w) for w in ("عام", "سنة", "العام", "السنة", "عامي", "سنتي")}
_ERA = {normalize(w) for w in ("م", "ميلادي", "ميلادية", "للميلاد")}
# particles, each one English word or phrase; two-word ones first
_PARTICLES = [(normalize(a).split(), b) for a, b in (
    ("أكثر من", "more than"), ("أقل من", "less than"), ("ما يقرب من", "nearly"), ("ما بين", "between"),
    ("في", "in"), ("بعد", "after"), ("قبل", "before"), ("منذ", "since"), ("حوالي", "about"), ("حوالى", "about"),
    ("نحو", "about"), ("قرابة", "about"), ("زهاء", "about"), ("إلى", "to"), ("الى", "to"), ("حتى", "until"),
    ("من", "from"), ("بين", "between"), ("و", "and"), ("أو", "or"), ("عن", "about"),
)]

_NUMBER = re.compile(r"^\d+(?:[.,]\d+)*$")
_LANGUAGE_NEUTRAL = re.compile(r"^[\d\s.,:;%/()\-–—+]+$")  # digits, times, scores, ranges: the same in English
_SPLIT = re.compile(r"\s*([/()،]|(?<!\d),|,(?!\d)|\s[-–—]\s)\s*|\s+")

Rule = Callable[[list[str], int], tuple[int, str] | None]


def _words(text: str) -> list[str]:
    """The phrase's words, normalized, with ٪ as %, a leading و on a number split off ("و760" → و 760) and
    the era mark after a year dropped from the word ("1923م")."""
    text = text.replace("٪", "%").replace("٫", ".").replace("٬", ",")
    out: list[str] = []
    for raw in _SPLIT.split(normalize(text)):
        w = (raw or "").strip()
        if not w or w in ("/", "(", ")"):
            continue
        if w in ("،", ","):
            out.append(",")
            continue
        m = re.fullmatch(r"(و?)(\d+(?:[.,]\d+)*)(%|م)?", w)
        if m:
            out += [p for p in (m.group(1), m.group(2), m.group(3)) if p and p != "م"]
        elif w.startswith("و") and (w[1:] in _ONES or w[1:] in _TENS or w[1:] in _THOUSAND):
            out += ["و", w[1:]]  # "وعشرون": and twenty
        else:
            out.append(w)
    return out


def _integer(words: list[str], i: int) -> tuple[int, float] | None:
    """(words used, value) of a number at ``i``: digits, or number words ("خمسة وعشرون")."""
    w = words[i]
    if _NUMBER.match(w):
        return 1, float(w.replace(",", ""))
    if w in _ONES or w in _TENS:
        value, used = float(_ONES.get(w) or _TENS[w]), 1
        if w in _ONES and i + 2 < len(words) and words[i + 1] == "و" and words[i + 2] in _TENS:
            value, used = value + float(_TENS[words[i + 2]]), 3
        return used, value
    if w in _THOUSAND:  # "ألف" alone: one thousand
        return 1, 1000.0
    return None


def _plain(value: float) -> str:
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.3f}".rstrip("0").rstrip(".")


def _amount(words: list[str], i: int) -> tuple[int, str] | None:
    """A number with its scale, and its percent sign, currency or unit: "20 ألف" → "20,000", "3.5 مليار
    دولار" → "$3.5 billion", "90 في المئة" → "90%", "17 ثانية" → "17 seconds"."""
    found = _integer(words, i)
    if found is None:
        return None
    used, value = found
    digits = words[i] if _NUMBER.match(words[i]) else None
    j = i + used
    large = ""
    if j < len(words) and words[j] in _HUNDRED:
        value, j = value * 100, j + 1
    if j < len(words) and words[j] in _THOUSAND and words[i] not in _THOUSAND:
        value, j = value * 1000, j + 1
        digits = None
    elif j < len(words) and words[j] in _LARGE:
        large, j = _LARGE[words[j]], j + 1
    if digits is not None and "," not in digits and "." in digits:
        number = digits  # a decimal as written ("3.62")
    elif digits is not None and len(digits) == 4 and not large and value == int(value):
        number = digits  # a four-digit number: a year, written without a separator
    else:
        number = _plain(value)
    if large:
        number = f"{number} {large}"
    for pattern in _PERCENT:
        if words[j : j + len(pattern)] == pattern:
            return j + len(pattern) - i, f"{number}%"
    if j < len(words) and words[j] in _CURRENCY:
        return j + 1 - i, f"{_CURRENCY[words[j]]}{number}"
    if j < len(words) and words[j] in _CURRENCY_WORDS:
        return j + 1 - i, f"{number} {_CURRENCY_WORDS[words[j]]}"
    if j < len(words) and words[j] in _UNITS:
        unit = _UNITS[words[j]]
        return j + 1 - i, f"{number} {_SINGULAR.get(unit, unit) if value == 1 and not large else unit}"
    return j - i, number


def _month(words: list[str], i: int) -> tuple[int, str] | None:
    for n in (2, 1):
        key = " ".join(words[i : i + n])
        if len(words[i : i + n]) == n and key in _MONTHS:
            return n, _MONTHS[key]
    return None


def _date(words: list[str], i: int) -> tuple[int, str] | None:
    """[day] month [/ the month's other name] [year]: "12 يونيو 2019" → "June 12, 2019", "يونيو/ حزيران 2019"
    → "June 2019"."""
    day = None
    j = i
    if _NUMBER.match(words[j]) and words[j].isdigit() and 1 <= int(words[j]) <= 31 and j + 1 < len(words):
        day, j = words[j], j + 1
    month = _month(words, j)
    if month is None:
        return None
    used, name = month
    j += used
    other = _month(words, j) if j < len(words) else None
    if other is not None and other[1] == name:  # "يونيو/ حزيران": one month, two names
        j += other[0]
    year = None
    if j < len(words) and words[j].isdigit() and len(words[j]) in (3, 4):
        year, j = words[j], j + 1
    text = f"{name} {day}, {year}" if day and year else f"{name} {day}" if day else \
        f"{name} {year}" if year else name
    return j - i, text


def _year(words: list[str], i: int) -> tuple[int, str] | None:
    """"عام 1998" / "سنة 1520" → "1998"; the era mark after it is dropped."""
    if words[i] not in _YEAR_WORDS or i + 1 >= len(words) or not words[i + 1].isdigit():
        return None
    j = i + 2
    if j < len(words) and words[j] in _ERA:
        j += 1
    return j - i, words[i + 1]


def _season(words: list[str], i: int) -> tuple[int, str] | None:
    """"صيف سنة 1521" → "summer of 1521"."""
    if words[i] not in _SEASONS:
        return None
    j = i + 1
    if j < len(words) and words[j] in _YEAR_WORDS:
        j += 1
    if j < len(words) and words[j].isdigit():
        return j + 1 - i, f"{_SEASONS[words[i]]} of {words[j]}"
    return 1, _SEASONS[words[i]]


def _single(table: dict[str, str]) -> Rule:
    def rule(words: list[str], i: int) -> tuple[int, str] | None:
        return (1, table[words[i]]) if words[i] in table else None
    return rule


def _particle(words: list[str], i: int) -> tuple[int, str] | None:
    for pattern, english in _PARTICLES:
        if words[i : i + len(pattern)] == pattern:
            return len(pattern), english
    return None


def _neutral(words: list[str], i: int) -> tuple[int, str] | None:
    """A word that reads the same in English: a time ("3:08"), a score or range ("20–18"), a sign."""
    return (1, words[i]) if _LANGUAGE_NEUTRAL.match(words[i]) else None


_RULES: tuple[Rule, ...] = (_date, _year, _season, _amount, _single(_DECADES), _particle, _neutral)


def to_english(text: str) -> str | None:
    """``text`` (Arabic) in English when rules cover every word of it, else None."""
    words = _words(text)
    if not words:
        return None
    out: list[str] = []
    i = 0
    while i < len(words):
        for rule in _RULES:
            hit = rule(words, i)
            if hit is not None:
                used, english = hit
                out.append(english)
                i += used
                break
        else:
            return None
    if not any(ch.isdigit() for part in out for ch in part) and not any(p in _DECADES.values() for p in out):
        return None  # particles alone ("في", "و") are no answer to convert
    return " ".join(out).replace(" ,", ",")
